"""The LGTM library: GLUE data, models, the training loop, the distillation methods, reporting.

Packages, from the bottom layer up (docs/design.md has the rules of what may import what):
`glue` (tasks and data), `models`, `distill` (the methods), `reporting`, then `settings` (the
params schema) and `training` (one run, from params to a run directory).
"""
