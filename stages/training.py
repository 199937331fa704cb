"""What the training stages share: train one run (a method, or the teacher alone) on each task
and log where each kept its best student; with `launch.processes` > 1 (or an accelerate
`launch.config_file`), each task's run under `accelerate launch` of the same stage
(pipeline/launch.py)."""

from __future__ import annotations

import json
import logging
import os
import subprocess
from functools import partial
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


def train_each_task(run: str, tasks: list[str] | None, params_file: Path, stage: list[str]) -> None:
    """Train `run` on `tasks` (default: params.yaml's), `launch.workers` at a time; or, where
    params ask for a launch, each task in turn as `python -m stages STAGE --task TASK` under
    `accelerate launch` (`stage`: the stage's subcommand and options, as on its command line)."""
    from pipeline.glue.tasks import get_task
    from pipeline.launch import inside_launch, launches
    from pipeline.settings.params import load_params
    from pipeline.training.run import RunPaths, train_runs

    params = load_params(params_file)
    names = tasks or params.tasks
    glue_tasks = [get_task(name) for name in names]
    if launches(params.launch.processes, params.launch.config_file) and not inside_launch():
        for name in names:
            _launch(name, params, params_file, stage)
        return
    for summary in train_runs(params, glue_tasks, run, lambda task: RunPaths(**run_layout(run, task))):
        log.info("%s %s: best %s %s at step %s of %s", summary.task, run, summary.selection_metric,
                 json.dumps(summary.best), summary.best_step, summary.steps)


def _launch(task: str, params, params_file: Path, stage: list[str]) -> None:
    """One task's run under `accelerate launch`; its failure is the stage's, with its exit status."""
    import torch

    from pipeline.launch import free_port, launch_command
    from pipeline.parallel import die_with_parent

    launch = params.launch
    command = launch_command("stages", [*stage, "--task", task, "--params", str(params_file)],
                             processes=launch.processes, config_file=launch.config_file,
                             mixed_precision=params.train.mixed_precision, gpus=torch.cuda.device_count(),
                             port=free_port())
    log.info("%s: %s", task, " ".join(command))
    # The launcher dies with the stage, killed or not, and its processes with it
    # (stages/environment.py): none trains on, or writes, behind a killed stage.
    returncode = subprocess.run(command, preexec_fn=partial(die_with_parent, os.getpid())).returncode
    if returncode:
        raise SystemExit(returncode)
