"""Stage `finetune-teacher`: the teacher fine-tuned alone on every task of `tasks`.

    python -m stages.finetune_teacher                  # every task, launch.workers at a time
    python -m stages.finetune_teacher --task rte       # one

The results table's teacher row, and the frozen teacher of the methods that start from it
(`methods.teacher`). Writes runs/finetune-teacher/TASK/ (model/, outputs/, summary.json),
live/finetune-teacher/TASK/ (DVCLive: per-step losses, periodic dev metrics) and
runs/teacher-anchors/TASK/anchor-K/: when `methods.anchors` lists a method (RCO), the teacher
at `rco.anchors` equal intervals of its fine-tuning (empty otherwise).
"""

from __future__ import annotations

from pathlib import Path

import typer

from stages.command import PARAMS_OPTION, run_main
from stages.training import train_each_task


def main(task: list[str] | None = typer.Option(None, help="A trainable GLUE task (repeatable); default: tasks."),
         params_file: Path = PARAMS_OPTION) -> None:
    """Fine-tune the teacher alone (the table's teacher row, KD's frozen teacher)."""
    from pipeline.settings.methods import FINETUNE_TEACHER, TEACHER_ANCHORS
    from stages.paths import RUNS_ROOT

    train_each_task(FINETUNE_TEACHER, task, params_file, ["finetune-teacher"])
    (RUNS_ROOT / TEACHER_ANCHORS).mkdir(parents=True, exist_ok=True)  # a DVC output, even when empty


if __name__ == "__main__":
    run_main(main)
