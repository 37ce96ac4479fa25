"""junheng.engine."""
