"""Teacher and student models: loaded from the hub or a directory, or `tiny` ones built and
pre-trained here; whatever the source, saved as ordinary model directories."""
