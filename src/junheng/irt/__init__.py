"""junheng.irt."""
