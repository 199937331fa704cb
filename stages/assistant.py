"""Stage `assistant@METHOD`: the assistant of a method of `methods.assistant` (TAKD), distilled
from the teacher fine-tuned alone, on every task of `tasks`.

    python -m stages.assistant --method takd                  # every task, launch.workers at a time
    python -m stages.assistant --method takd --task rte       # one

It starts from the pre-trained teacher's first `takd.assistant_layers` layers. Writes
runs/METHOD-assistant/TASK/ (model/: the kept assistant; outputs/; summary.json) and
live/METHOD-assistant/TASK/.
"""

from __future__ import annotations

from pathlib import Path

import typer

from stages.command import PARAMS_OPTION, run_main
from stages.training import check_group, train_each_task


def main(
    method: str = typer.Option(..., help="A method of params.yaml's methods.assistant."),
    task: list[str] | None = typer.Option(None, help="A trainable GLUE task (repeatable); default: tasks."),
    params_file: Path = PARAMS_OPTION,
) -> None:
    """Distil each task's assistant from the fine-tuned teacher (TAKD's first hop)."""
    from pipeline.settings.methods import assistant_run

    check_group(method, "assistant")
    train_each_task(assistant_run(method), task, params_file, ["assistant", "--method", method])


if __name__ == "__main__":
    run_main(main)
