"""Stage `download`: every task of `data.tasks` as normalised JSON Lines files, with what was
skipped and where.

    python -m stages.download                                  # every task, from data.source
    python -m stages.download --task rte --glue-dir ~/glue     # one task, from a local GLUE directory
    python -m stages.download --write-glue-dir ~/synthetic     # the synthetic GLUE files themselves

Writes data/glue/TASK/{split}.jsonl and data/glue/TASK/report.json; for the synthetic source
also data/glue/TASK/truth/ (the true test labels and the flipped ones, pipeline/glue/synthetic.py).

Every task is read, checked and written beside data/glue first (data/.glue.tmp-PID); only when
all of them are complete is data/glue replaced: whole (the tasks of data.tasks, nothing else),
or with --task, those tasks' directories alone. A bad file in any task leaves data/glue as it
was. dvc.yaml keeps data/glue while the stage runs (`persist`), so the same holds under DVC.
"""

from __future__ import annotations

import logging
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from stages.command import PARAMS_OPTION, run_main
from stages.paths import GLUE_ROOT

if TYPE_CHECKING:
    from pipeline.glue.tasks import Task
    from pipeline.settings.params import Params

log = logging.getLogger("download")


class Source(str, Enum):
    synthetic = "synthetic"
    dir = "dir"
    hub = "hub"
    rotten_tomatoes = "rotten_tomatoes"


def main(
    task: list[str] | None = typer.Option(None, help="A GLUE task (repeatable); default: data.tasks."),
    source: Source | None = typer.Option(None, help="Overrides data.source (synthetic, dir or hub)."),
    glue_dir: Path | None = typer.Option(None, help="A GLUE directory (implies --source dir)."),
    write_glue_dir: Path | None = typer.Option(None, help="Write the synthetic GLUE files here and stop."),
    params_file: Path = PARAMS_OPTION,
) -> None:
    """Read GLUE tasks from their source into normalised split files."""
    from pipeline.atomic import replace, staging_dir
    from pipeline.glue.sources import write_synthetic_glue
    from pipeline.glue.tasks import get_task
    from pipeline.settings.params import load_params

    params = load_params(params_file)
    tasks = [get_task(name) for name in (task or params.data.tasks)]
    if write_glue_dir is not None:
        write_synthetic_glue(write_glue_dir, tasks, params.data.synthetic)
        log.info("wrote the synthetic GLUE files of %s to %s", ", ".join(t.name for t in tasks), write_glue_dir)
        return
    chosen = source.value if source else ("dir" if glue_dir else params.data.source)
    with staging_dir(GLUE_ROOT) as staged:
        for glue_task in tasks:
            write_task(staged / glue_task.name, glue_task, chosen, str(glue_dir) if glue_dir else params.data.glue_dir,
                       params)
        # Every task is read and written: only now is data/glue touched.
        if task:
            GLUE_ROOT.mkdir(parents=True, exist_ok=True)
            for glue_task in tasks:
                replace(staged / glue_task.name, GLUE_ROOT / glue_task.name)
        else:
            replace(staged, GLUE_ROOT)
    log.info("wrote %s", ", ".join(str(GLUE_ROOT / t.name) for t in tasks))


def write_task(out: Path, glue_task: Task, source: str, glue_dir: str | None, params: Params) -> None:
    """`glue_task`'s normalised splits, its report and its truth (if any) in the new directory
    `out`, from `source`; a file that cannot be used stops it with a one-line error."""
    from pipeline.atomic import write_json
    from pipeline.glue.normalized import split_path, write_split
    from pipeline.glue.sources import task_splits
    from pipeline.glue.synthetic import TRUTH_DIR

    out.mkdir()
    report = {"task": glue_task.name, "source": source, "splits": {}}
    splits = task_splits(glue_task, source=source, glue_dir=glue_dir, synthetic_data=params.data.synthetic,
                         max_malformed_fraction=params.data.max_malformed_fraction,
                         hub_timeout_s=params.hub_timeout_s, rotten_tomatoes_seed=params.data.rotten_tomatoes.seed,
                         rotten_tomatoes_train_rows=params.data.rotten_tomatoes.train_rows,
                         truth_dir=out / TRUTH_DIR)
    for split, examples, file_report in splits:
        rows = write_split(split_path(out, split.name), examples)
        entry = {"examples": rows}
        if file_report is not None:
            entry["file"] = file_report.as_dict()
            skipped = ", ".join(f"{reason} {n}" for reason, n in file_report.skipped.items()) or "none"
            log.info("%s %s (%s): %d rows, kept %d, skipped: %s",
                     glue_task.name, split.name, split.filename, file_report.rows, rows, skipped)
        else:
            log.info("%s %s: %d examples", glue_task.name, split.name, rows)
        report["splits"][split.name] = entry
    write_json(out / "report.json", report)


if __name__ == "__main__":
    run_main(main)
