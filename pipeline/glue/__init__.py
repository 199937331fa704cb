"""GLUE: the tasks, a reader for each source (a GLUE directory, the hub, the synthetic
generator), the normalised split files, and their tokenized form."""
