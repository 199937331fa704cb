"""`clean`: remove the checkpoints of runs the workspace already holds finished.

    python -m stages clean

A stage killed mid-run leaves checkpoints/RUN/TASK/latest/ to resume from. When DVC then
restores that run's outputs from its run-cache instead of running the stage again, nothing
resumes it, and it would stay. `make demo` runs this after `dvc repro`. A checkpoint is
removed when the workspace has its run finished (runs/RUN/TASK/summary.json) and the
checkpoint's fingerprint is that of the run the current params, inputs and code give.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from stages.command import PARAMS_OPTION, run_main
from stages.paths import CHECKPOINTS_ROOT, run_layout

log = logging.getLogger("clean")


def main(params_file: Path = PARAMS_OPTION) -> None:
    """Remove checkpoints that nothing will resume."""
    from pipeline.glue.tasks import TASKS
    from pipeline.settings.params import load_params
    from pipeline.settings.runs import run_specs
    from pipeline.training.checkpoints import remove_unfinished
    from pipeline.training.run import RunPaths, run_fingerprint

    params = load_params(params_file)
    specs = run_specs(params)
    for progress in sorted(CHECKPOINTS_ROOT.glob("*/*/latest/progress.json")):
        run, task = progress.parts[-4], progress.parts[-3]
        paths = RunPaths(**run_layout(run, task))
        if not (paths.run / "summary.json").is_file() or task not in TASKS or run not in specs:
            continue  # unfinished here (a rerun resumes from it), or not a run of the pipeline's
        # launch.processes: the processes of a run launched without a config file (one with a
        # config file keeps its checkpoint: its process count is the file's).
        current = run_fingerprint(params, TASKS[task], specs[run], paths, params.launch.processes)
        if json.loads(progress.read_text())["fingerprint"] == current:
            remove_unfinished(paths.checkpoints)
            log.info("removed %s: its run is finished in %s", progress.parent, paths.run)


if __name__ == "__main__":
    run_main(main)
