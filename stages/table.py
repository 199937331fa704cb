"""Stage `table`: the paper's results table from the evaluate stages.

    python -m stages table

Writes reports/results.{md,csv,tex}; prints the markdown.
"""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.params import FINETUNE_TEACHER, load_params
from pipeline.table import results_frame, write_tables
from stages.common import PARAMS_OPTION, reports_dir


def main(params_file: Path = PARAMS_OPTION) -> None:
    """Regenerate the results table (teacher and each method, the paper's columns)."""
    params = load_params(params_file)
    frame = results_frame(Path("metrics"), [FINETUNE_TEACHER, *params.methods])
    paths = write_tables(frame, reports_dir())
    typer.echo(paths["md"].read_text())
