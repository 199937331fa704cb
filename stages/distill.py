"""Stage `distill@TASK-METHOD`: the student trained by one method.

    python -m stages.distill --task rte --method lgtm
    accelerate launch -m stages.distill --task rte --method kd     # several GPUs or nodes

Writes runs/TASK/METHOD/ (model/: the best student; outputs/: its logits; summary.json) and
live/TASK/METHOD/ (DVCLive: per-step losses, periodic dev metrics).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer

from stages.command import PARAMS_OPTION, run_main
from stages.paths import run_layout

log = logging.getLogger("train")


def main(
    task: str = typer.Option(..., help="A trainable GLUE task."),
    method: str = typer.Option(..., help="A method of params.yaml's `methods`: finetune, kd, prokt, lgtm."),
    params_file: Path = PARAMS_OPTION,
) -> None:
    """Train the student with a method."""
    from pipeline.errors import InputError
    from pipeline.glue.tasks import get_task
    from pipeline.settings.methods import METHODS
    from pipeline.settings.params import load_params
    from pipeline.training.run import RunPaths, train_run

    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; expected one of: {', '.join(METHODS)}")
    params = load_params(params_file)
    summary = train_run(params, get_task(task), method, RunPaths(**run_layout(task, method)))
    log.info("%s %s: best %s %s at step %s of %s", task, method, summary.selection_metric, json.dumps(summary.best),
             summary.best_step, summary.steps)


if __name__ == "__main__":
    run_main(main)
