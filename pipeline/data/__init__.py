"""GLUE data: readers for each source, the synthetic generator, the normalised split files."""
