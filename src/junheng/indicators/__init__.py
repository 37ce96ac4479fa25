"""junheng.indicators."""
