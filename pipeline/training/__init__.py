"""One training run: the loop every method shares, its batches, checkpoints and outputs."""
