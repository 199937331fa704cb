"""Benchmarks of the library, outside it: step time and memory of every method
(`python -m stages bench`), and the data stages at the real GLUE sizes (`python -m stages scale`)."""
