"""Stage `distill@METHOD`: the student distilled by a method of `methods.teacher`, which
starts from the teacher fine-tuned alone (finetune-teacher), on every task of `tasks`.

    python -m stages.distill --method METHOD                  # every task, launch.workers at a time
    python -m stages.distill --method METHOD --task rte       # one
    accelerate launch -m stages.distill --method METHOD --task rte   # several GPUs or nodes

Writes runs/METHOD/TASK/ (model/: the kept student; outputs/: its logits; summary.json) and
live/METHOD/TASK/ (DVCLive: per-step losses, periodic dev metrics).
"""

from __future__ import annotations

from pathlib import Path

import typer

from stages.command import PARAMS_OPTION, run_main
from stages.training import check_group, train_each_task


def main(
    method: str = typer.Option(..., help="A method of params.yaml's methods.teacher."),
    task: list[str] | None = typer.Option(None, help="A trainable GLUE task (repeatable); default: tasks."),
    params_file: Path = PARAMS_OPTION,
) -> None:
    """Train the student on each task with a method of methods.teacher."""
    check_group(method, "teacher")
    train_each_task(method, task, params_file, ["distill", "--method", method])


if __name__ == "__main__":
    run_main(main)
