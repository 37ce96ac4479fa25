"""junheng.survey."""
