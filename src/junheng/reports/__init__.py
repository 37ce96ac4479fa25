"""junheng.reports."""
