"""Stage `table`: the results table from the evaluate stage's metrics.

    python -m stages.table

Writes reports/results.{md,csv,tex}; prints the markdown.
"""

from __future__ import annotations

from pathlib import Path

import typer

from stages.command import PARAMS_OPTION, run_main
from stages.paths import METRICS_DIR, REPORTS_DIR


def main(params_file: Path = PARAMS_OPTION) -> None:
    """Regenerate the results table (the teacher and each method, every trained task)."""
    from pipeline.reporting.results_table import results_frame, write_tables
    from pipeline.settings.params import load_params
    from pipeline.settings.runs import reported_runs

    params = load_params(params_file)
    frame = results_frame(METRICS_DIR, reported_runs(params.methods.all()), params.tasks, params.data.source)
    paths = write_tables(frame, REPORTS_DIR)
    typer.echo(paths["md"].read_text())


if __name__ == "__main__":
    run_main(main)
