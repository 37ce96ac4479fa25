"""junheng.supervision."""
