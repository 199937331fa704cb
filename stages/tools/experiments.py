"""`experiments`: the DVC experiments side by side, narrow enough for a terminal (not a stage).

    python -m stages experiments                     # after `dvc exp run ...`
    python -m stages experiments --exp-show saved.json

One column per finished experiment (the workspace and the current commit included), one row
per param that differs between them, then one row per run: its average over the results
table's columns (metrics/summary.json). Queued, running and failed experiments are named
below the table. `dvc exp show` has every column; this is the first look.
"""

from __future__ import annotations

from pathlib import Path

import typer

from stages.command import run_main


def main(
    exp_show_file: Path | None = typer.Option(None, "--exp-show", help="A saved `dvc exp show --json` output to read "
                                                                "instead of running it here."),
) -> None:
    """Show each experiment's changed params and each run's average, one column per experiment."""
    from pipeline.reporting.experiment_overview import overview_rows, render, unfinished
    from pipeline.reporting.experiments import exp_show, read_exp_show

    entries = exp_show(Path.cwd()) if exp_show_file is None else read_exp_show(exp_show_file)
    names, changed, averages = overview_rows(entries)
    typer.echo(render(names, changed + averages))
    if not changed:
        typer.echo("(no param differs between these experiments)")
    if left_out := unfinished(entries):
        typer.echo("not finished, not shown: " + ", ".join(left_out))


if __name__ == "__main__":
    run_main(main)
