"""What `params.yaml` may say: the schema of every section (`params.py`), the training methods
and their own sections (`methods.py`). Torch-free: every stage validates params before work."""
