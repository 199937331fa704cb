"""Stage `distill-anchors@METHOD`: the student distilled by a method of `methods.anchors` (RCO)
from the anchors that finetune-teacher saved along the teacher's fine-tuning
(runs/teacher-anchors/TASK/anchor-K), on every task of `tasks`.

    python -m stages.distill_anchors --method rco                  # every task
    python -m stages.distill_anchors --method rco --task rte       # one

Writes runs/METHOD/TASK/ and live/METHOD/TASK/, as every training stage.
"""

from __future__ import annotations

from pathlib import Path

import typer

from stages.command import PARAMS_OPTION, run_main
from stages.training import check_group, train_each_task


def main(
    method: str = typer.Option(..., help="A method of params.yaml's methods.anchors."),
    task: list[str] | None = typer.Option(None, help="A trainable GLUE task (repeatable); default: tasks."),
    params_file: Path = PARAMS_OPTION,
) -> None:
    """Train the student on each task along the teacher's anchors (RCO)."""
    check_group(method, "anchors")
    train_each_task(method, task, params_file, ["distill-anchors", "--method", method])


if __name__ == "__main__":
    run_main(main)
