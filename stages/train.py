"""Stage `train@METHOD`: the student trained by a method of `methods.pretrained`, which
starts from the pre-trained checkpoints alone (the student alone, or beside a teacher trained
with it), on every task of `tasks`.

    python -m stages.train --method METHOD                  # every task, launch.workers at a time
    python -m stages.train --method METHOD --task rte       # one
    accelerate launch -m stages.train --method METHOD --task rte   # several GPUs or nodes

Writes runs/METHOD/TASK/ (model/: the kept student; outputs/: its logits; summary.json) and
live/METHOD/TASK/ (DVCLive: per-step losses, periodic dev metrics).
"""

from __future__ import annotations

from pathlib import Path

import typer

from stages.command import PARAMS_OPTION, run_main
from stages.training import check_group, train_each_task


def main(
    method: str = typer.Option(..., help="A method of params.yaml's methods.pretrained."),
    task: list[str] | None = typer.Option(None, help="A trainable GLUE task (repeatable); default: tasks."),
    params_file: Path = PARAMS_OPTION,
) -> None:
    """Train the student on each task with a method of methods.pretrained."""
    check_group(method, "pretrained")
    train_each_task(method, task, params_file, ["train", "--method", method])


if __name__ == "__main__":
    run_main(main)
