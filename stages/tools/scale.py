"""`scale`: the data stages of a task at its real GLUE size (a benchmark, not a DVC stage).

    python -m stages scale --task mnli     # 392,702 training rows

Runs download, pretrained and tokenize in a scratch directory on the synthetic data at the
real row counts, each in its own process, then draws batches from the training loader, and
prints one JSON line: each stage's seconds and peak resident memory, and the loader's rate
and resident memory before and after.
"""

from __future__ import annotations

from pathlib import Path

import typer

from stages.command import PARAMS_OPTION, run_main


def main(
    task: str = typer.Option("mnli", help="A trainable GLUE task."),
    loader_batches: int = typer.Option(2000, help="Training batches to draw from the tokenized split."),
    params_file: Path = PARAMS_OPTION,
) -> None:
    """Time the data stages on a task's real row counts; print one JSON line."""
    import json

    from benchmarks.scale import run
    from pipeline.glue.tasks import get_task
    from pipeline.settings.params import load_params

    load_params(params_file)
    get_task(task)
    typer.echo(json.dumps(run(params_file, task, loader_batches)))


if __name__ == "__main__":
    run_main(main)
