"""Stage `distill-assistant@METHOD`: the student distilled by a method of `methods.assistant`
(TAKD) from its assistant (the `assistant` stage), on every task of `tasks`.

    python -m stages.distill_assistant --method takd                  # every task
    python -m stages.distill_assistant --method takd --task rte       # one

Writes runs/METHOD/TASK/ and live/METHOD/TASK/, as every training stage.
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
    """Train the student on each task from its assistant (TAKD's second hop)."""
    check_group(method, "assistant")
    train_each_task(method, task, params_file, ["distill-assistant", "--method", method])


if __name__ == "__main__":
    run_main(main)
