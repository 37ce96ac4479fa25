"""junheng.fitness."""
