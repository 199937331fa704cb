"""One Typer command per DVC stage; `python -m stages --help` lists them.

Each command reads params.yaml (validated whole before any work), calls `pipeline`, and
writes its outputs atomically. `dvc.yaml` names the command, deps, params and outs of each.
"""
