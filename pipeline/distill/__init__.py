"""The training methods' step functions, one module each, for the one training loop
(pipeline/training/loop.py); `steps.py` maps method names to them. What each method is called,
reads from params.yaml and trains is in pipeline/settings/methods.py."""
