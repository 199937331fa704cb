"""Stage `finetune-teacher@TASK`: the teacher fine-tuned alone on the task.

    python -m stages.finetune_teacher --task rte
    accelerate launch -m stages.finetune_teacher --task rte     # several GPUs or nodes

The results table's teacher row, and the frozen teacher of the methods that distil from a
fine-tuned one (KD). Writes runs/TASK/finetune-teacher/ (model/, outputs/, summary.json) and
live/TASK/finetune-teacher/ (DVCLive: per-step losses, periodic dev metrics).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer

from stages.command import PARAMS_OPTION, run_main
from stages.paths import run_layout

log = logging.getLogger("train")


def main(task: str = typer.Option(..., help="A trainable GLUE task."), params_file: Path = PARAMS_OPTION) -> None:
    """Fine-tune the teacher alone (the table's teacher row, KD's frozen teacher)."""
    from pipeline.glue.tasks import get_task
    from pipeline.settings.methods import FINETUNE_TEACHER
    from pipeline.settings.params import load_params
    from pipeline.training.run import RunPaths, train_run

    params = load_params(params_file)
    summary = train_run(params, get_task(task), FINETUNE_TEACHER, RunPaths(**run_layout(task, FINETUNE_TEACHER)))
    log.info("%s %s: best %s %s at step %s of %s", task, FINETUNE_TEACHER, summary.selection_metric,
             json.dumps(summary.best), summary.best_step, summary.steps)


if __name__ == "__main__":
    run_main(main)
