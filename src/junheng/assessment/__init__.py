"""junheng.assessment."""
