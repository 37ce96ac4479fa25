"""junheng.io."""
