"""`paper-table`: the paper's comparison table from every finished DVC experiment (not a stage).

    python -m stages paper-table                    # the workspace's preset, into reports/
    python -m stages paper-table --preset paper --out /tmp/tables
    python -m stages paper-table --all-commits      # pool the experiments of every commit
    python -m stages paper-table --exp-show saved.json   # from a saved `dvc exp show --json`
    python -m stages paper-table --learning-rate 1e-4    # one rate of the grid, no rate chosen

Reads `dvc exp show --json` (the workspace where `dvc status` finds it up to date, the current
commit and its finished experiments; with --all-commits every commit's, for when the commits
between changed neither code nor data: their runs are pooled by params alone), keeps
the runs of one preset (by default the workspace params file's), and writes
paper_table.{md,csv,tex,png} under --out: per held-out mode the dev table (and the test table
where the synthetic data's test labels gave scores), mean ± std over seeds at the kept student
learning rate, LGTM's paired t-test against each row, the published numbers of
reference/published.yaml, and whether the runs leave the comparison room
(pipeline/reporting/room_checks.py). Prints the markdown.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer

from stages.command import PARAMS_OPTION, run_main
from stages.paths import REPORTS_DIR

PUBLISHED = Path("reference/published.yaml")
log = logging.getLogger("paper-table")


def main(
    out: Path = typer.Option(REPORTS_DIR, "--out", help="Where paper_table.{md,csv,tex,png} go."),
    preset: str | None = typer.Option(None, "--preset", help="The preset whose runs make the table (default: the "
                                                       "workspace params file's)."),
    all_commits: bool = typer.Option(False, "--all-commits", help="Pool the experiments of every commit, not only "
                                                                  "the current one's (same code and data only)."),
    exp_show_file: Path | None = typer.Option(None, "--exp-show", help="A saved `dvc exp show --json` output to read "
                                                                "instead of running it here."),
    # Annotated, so that a call from Python that leaves it out gets None, not the option object.
    learning_rate: Annotated[float | None, typer.Option(
        "--learning-rate", help="Only the runs at this student rate (the teacher alone's at its own): one rate of "
                                "the grid, none chosen.")] = None,
    published_file: Path = typer.Option(PUBLISHED, "--published", help="The published numbers."),
    params_file: Path = PARAMS_OPTION,
) -> None:
    """Regenerate the paper's table from every finished experiment."""
    from pipeline.errors import InputError
    from pipeline.reporting.experiments import exp_show, read_exp_show, records_from_exp_show, workspace_is_current
    from pipeline.reporting.paper_report import write_reports
    from pipeline.reporting.paper_table import at_learning_rate, build_tables, current_runs
    from pipeline.reporting.published import load_published
    from pipeline.reporting.room_checks import room_checks
    from pipeline.settings.params import load_params

    preset = preset or load_params(params_file).preset
    published = load_published(published_file)
    if exp_show_file is None:
        entries, workspace = exp_show(Path.cwd(), all_commits), workspace_is_current(Path.cwd())
        if not workspace:
            log.warning("the workspace is not up to date (`dvc status`): its metrics are left out")
    else:
        entries, workspace = read_exp_show(exp_show_file), True
    records = records_from_exp_show(entries, workspace)
    runs = current_runs(records, preset)
    if learning_rate is not None:
        runs = at_learning_rate(runs, learning_rate)
    if not runs:
        found = sorted({record.preset for record in records})
        raise InputError(f"--preset {preset}: no finished run of this preset in any experiment; "
                         f"presets with runs: {', '.join(found) or 'none'}")
    paths = write_reports(build_tables(runs), published, preset, out, room_checks(runs))
    typer.echo(paths["md"].read_text(encoding="utf-8"))
    typer.echo("wrote " + ", ".join(str(path) for path in paths.values()))


if __name__ == "__main__":
    run_main(main)
