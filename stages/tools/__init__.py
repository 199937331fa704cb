"""Commands that are not DVC stages: `predict` (any checkpoint's test predictions) and the
benchmarks `bench` (step time and memory of every method) and `scale` (the data stages at the
real GLUE sizes)."""
