"""Stage `download@TASK`: one normalised JSON Lines file per split, and what was skipped.

    python -m stages.download --task rte                       # data.source from params.yaml
    python -m stages.download --task rte --glue-dir ~/glue     # a local GLUE directory
    python -m stages.download --task rte --source hub          # nyu-mll/glue on the hub

Writes data/glue/TASK/{split}.jsonl and data/glue/TASK/report.json.
"""

from __future__ import annotations

import logging
from enum import Enum
from pathlib import Path

import typer

from stages.command import PARAMS_OPTION, run_main
from stages.paths import glue_data_dir

log = logging.getLogger("download")


class Source(str, Enum):
    synthetic = "synthetic"
    dir = "dir"
    hub = "hub"


def main(
    task: str = typer.Option(..., help="A GLUE task: cola sst2 mrpc stsb qqp mnli qnli rte wnli ax."),
    source: Source | None = typer.Option(None, help="Overrides data.source (synthetic, dir or hub)."),
    glue_dir: Path | None = typer.Option(None, help="A GLUE directory (implies --source dir)."),
    params_file: Path = PARAMS_OPTION,
) -> None:
    """Read a GLUE task from its source into normalised split files."""
    from pipeline.atomic import atomic_path, write_json
    from pipeline.glue.normalized import split_path, write_split
    from pipeline.glue.sources import task_splits
    from pipeline.glue.tasks import get_task
    from pipeline.settings.params import load_params

    params = load_params(params_file)
    glue_task = get_task(task)
    chosen = source.value if source else ("dir" if glue_dir else params.data.source)
    splits = task_splits(
        glue_task, source=chosen, glue_dir=str(glue_dir) if glue_dir else params.data.glue_dir,
        synthetic_data=params.data.synthetic, max_malformed_fraction=params.data.max_malformed_fraction,
        hub_timeout_s=params.hub_timeout_s,
    )
    report = {"task": task, "source": chosen, "splits": {}}
    with atomic_path(glue_data_dir(task)) as out:
        out.mkdir()
        for split, examples, file_report in splits:
            rows = write_split(split_path(out, split.name), examples)
            entry = {"examples": rows}
            if file_report is not None:
                entry["file"] = file_report.as_dict()
                skipped = ", ".join(f"{reason} {n}" for reason, n in file_report.skipped.items()) or "none"
                log.info("%s %s (%s): %d rows, kept %d, skipped: %s",
                         task, split.name, split.filename, file_report.rows, rows, skipped)
            else:
                log.info("%s %s: %d examples", task, split.name, rows)
            report["splits"][split.name] = entry
        write_json(out / "report.json", report)
    log.info("wrote %s", glue_data_dir(task))


if __name__ == "__main__":
    run_main(main)
