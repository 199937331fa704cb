"""What the training stages share: train one run (a method, or the teacher alone) on each task
and log where each kept its best student."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from stages.paths import run_layout

log = logging.getLogger("train")


def check_group(method: str, group: str) -> None:
    """A stage trains the methods of one group of params.yaml's `methods`."""
    from pipeline.errors import InputError
    from pipeline.settings.methods import METHODS

    if method not in METHODS or METHODS[method].starts_from != group:
        expected = ", ".join(name for name, info in METHODS.items() if info.starts_from == group)
        raise InputError(f"--method {method!r}: this stage trains the methods of methods.{group}: {expected}")


def train_each_task(run: str, tasks: list[str] | None, params_file: Path) -> None:
    """Train `run` on `tasks` (default: params.yaml's), `launch.workers` at a time."""
    from pipeline.glue.tasks import get_task
    from pipeline.settings.params import load_params
    from pipeline.training.run import RunPaths, train_runs

    params = load_params(params_file)
    glue_tasks = [get_task(name) for name in (tasks or params.tasks)]
    for summary in train_runs(params, glue_tasks, run, lambda task: RunPaths(**run_layout(run, task))):
        log.info("%s %s: best %s %s at step %s of %s", summary.task, run, summary.selection_metric,
                 json.dumps(summary.best), summary.best_step, summary.steps)
