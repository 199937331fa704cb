"""Stages `finetune-teacher@TASK` and `distill@TASK-METHOD`: one training run each.

    python -m stages finetune-teacher --task rte
    python -m stages distill --task rte --method lgtm
    accelerate launch -m stages distill --task rte --method kd     # several GPUs or nodes

Writes runs/TASK/METHOD/ (model/: the best student; summary.json) and live/TASK/METHOD/
(DVCLive: per-step losses, periodic dev metrics).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer

from pipeline.errors import InputError
from pipeline.params import FINETUNE_TEACHER, METHOD_NAMES, load_params
from pipeline.tasks import get_task
from stages.common import PARAMS_OPTION, checkpoint_dir, live_dir, pretrained_dir, run_dir, tokenized_dir

log = logging.getLogger("train")
METHOD_HELP = "finetune (student alone), kd, prokt or lgtm."


def _run(task: str, method: str, params_file: Path) -> None:
    from pipeline.runs import RunPaths, train_run

    params = load_params(params_file)
    glue_task = get_task(task)
    paths = RunPaths(
        tokenized=tokenized_dir(task),
        pretrained=pretrained_dir(task),
        finetuned_teacher=run_dir(task, FINETUNE_TEACHER) / "model",
        run=run_dir(task, method),
        live=live_dir(task, method),
        checkpoints=checkpoint_dir(task, method),
    )
    summary = train_run(params, glue_task, method, paths)
    log.info("%s %s: best %s %s at step %s of %s", task, method, summary["selection_metric"],
             json.dumps(summary["best"]), summary["best_step"], summary["steps"])


def finetune_teacher(task: str = typer.Option(..., help="A trainable GLUE task."), params_file: Path = PARAMS_OPTION) -> None:
    """Fine-tune the teacher alone (the table's teacher row, KD's frozen teacher)."""
    _run(task, FINETUNE_TEACHER, params_file)


def distill(
    task: str = typer.Option(..., help="A trainable GLUE task."),
    method: str = typer.Option(..., help=METHOD_HELP),
    params_file: Path = PARAMS_OPTION,
) -> None:
    """Train the student with a method: finetune, kd, prokt or lgtm."""
    if method not in METHOD_NAMES:
        raise InputError(f"unknown method {method!r}; expected one of: {', '.join(METHOD_NAMES)}")
    _run(task, method, params_file)
