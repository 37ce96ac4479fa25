"""junheng.synth."""
