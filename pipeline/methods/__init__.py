"""The training methods, one module each: its params section, its metadata and its step
(pipeline/methods/base.py says what a method is; registry.py lists them)."""
