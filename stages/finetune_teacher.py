"""Stage `finetune-teacher`: the teacher fine-tuned alone on every task of `tasks`.

    python -m stages.finetune_teacher                  # every task, launch.workers at a time
    python -m stages.finetune_teacher --task rte       # one

The results table's teacher row, and the frozen teacher of the methods that start from it
(`methods.teacher`). Writes runs/finetune-teacher/TASK/ (model/, outputs/, summary.json) and
live/finetune-teacher/TASK/ (DVCLive: per-step losses, periodic dev metrics).
"""

from __future__ import annotations

from pathlib import Path

import typer

from stages.command import PARAMS_OPTION, run_main
from stages.training import train_each_task


def main(task: list[str] | None = typer.Option(None, help="A trainable GLUE task (repeatable); default: tasks."),
         params_file: Path = PARAMS_OPTION) -> None:
    """Fine-tune the teacher alone (the table's teacher row, KD's frozen teacher)."""
    from pipeline.settings.methods import FINETUNE_TEACHER

    train_each_task(FINETUNE_TEACHER, task, params_file)


if __name__ == "__main__":
    run_main(main)
