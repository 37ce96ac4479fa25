"""junheng.registry."""
