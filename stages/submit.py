"""Stage `submit@METHOD`: the benchmark-server zip of one method.

    python -m stages.submit --method lgtm

Writes submissions/METHOD.zip (all 11 files) and submissions/METHOD.json (which files were
predicted and which were filled with the training majority class).
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from stages.command import PARAMS_OPTION, run_main
from stages.paths import GLUE_ROOT, predictions_dir, submission_zip

log = logging.getLogger("submit")


def main(method: str = typer.Option(..., help="The method whose predictions to zip."),
         params_file: Path = PARAMS_OPTION) -> None:
    """Build and validate the GLUE submission zip of a method."""
    from pipeline.atomic import write_json
    from pipeline.reporting.submission import build_submission
    from pipeline.settings.params import load_params

    params = load_params(params_file)
    zip_path = submission_zip(method)
    report = build_submission([predictions_dir(method, task) for task in params.tasks], GLUE_ROOT, zip_path)
    write_json(zip_path.with_suffix(".json"), report)
    if report["filled_with_majority_class"]:
        log.warning("%s: not trained, filled with the training majority class: %s", zip_path,
                    ", ".join(report["filled_with_majority_class"]))
    log.info("wrote %s (%d predicted files)", zip_path, len(report["predicted"]))


if __name__ == "__main__":
    run_main(main)
