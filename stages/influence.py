"""Stage `influence`: what LGTM's teacher prioritizes, per training sample, on every task.

    python -m stages.influence                 # every task of `tasks`
    python -m stages.influence --task rte      # one

Reads runs/lgtm/TASK/influence.parquet (the per-sample distillation influence train@lgtm logs
every `lgtm.influence_every` steps) and data/glue/TASK/ (the training texts, and truth/'s
flipped labels on the synthetic data); writes reports/influence/TASK.md and TASK.png. Where
no LGTM run logs them (`lgtm` not among `methods`, or `lgtm.influence_every: 0`), it writes
reports/influence/README.md saying so, and nothing else, so that `dvc repro` runs on.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import typer

from stages.command import PARAMS_OPTION, run_main
from stages.paths import INFLUENCE_REPORTS_DIR, glue_data_dir, influence_file


def main(
    task: list[str] | None = typer.Option(None, help="A task LGTM trained on (repeatable); default: tasks."),
    params_file: Path = PARAMS_OPTION,
) -> None:
    """Report each task's per-sample distillation influence: a figure and a note."""
    from pipeline.atomic import write_text
    from pipeline.glue.tasks import get_task
    from pipeline.parallel import run_jobs
    from pipeline.reporting.influence_report import write_report
    from pipeline.settings.params import load_params

    params = load_params(params_file)
    logged = "lgtm" in params.methods.all() and params.method_settings("lgtm").influence_every != 0
    if not task and not logged:
        note = INFLUENCE_REPORTS_DIR / "README.md"
        note.parent.mkdir(parents=True, exist_ok=True)
        write_text(note, "No LGTM run logs per-sample influence in this configuration: `lgtm` is not among "
                         "`methods`, or `lgtm.influence_every` is 0.\n")
        typer.echo(f"nothing to report: {note}")
        return
    names = task or params.tasks
    # A figure takes a second or two: the tasks side by side, after the imports they share.
    import matplotlib.pyplot  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    jobs = [partial(write_report, get_task(name), influence_file(name), glue_data_dir(name), INFLUENCE_REPORTS_DIR)
            for name in names]
    for name, paths in zip(names, run_jobs(jobs, params.launch.worker_count(len(jobs)))):
        typer.echo(f"{name}: {paths['md']}, {paths['png']}")


if __name__ == "__main__":
    run_main(main)
