"""Stage `plots`: the charts `dvc plots show` draws, one per task and quantity, every run in each.

    python -m stages.plots

Reads the training stages' DVCLive logs (live/RUN/TASK/) and writes plots/TASK/dev.csv (each
run's selection metric at each evaluation, students and teachers, the checkpoint the run keeps
marked) and plots/TASK/loss.csv (the training losses), which dvc.yaml's `plots` draws with the
template .dvc/plots/overlay.json.
"""

from __future__ import annotations

from pathlib import Path

from stages.command import PARAMS_OPTION, run_main
from stages.paths import LIVE_ROOT, PLOTS_DIR


def main(params_file: Path = PARAMS_OPTION) -> None:
    """Gather every run's logs of each task into the task's two overlay files."""
    from pipeline.reporting.overlays import write_overlays
    from pipeline.settings.params import load_params
    from pipeline.settings.runs import reported_runs

    params = load_params(params_file)
    write_overlays(LIVE_ROOT, reported_runs(params.methods.all()), params.tasks, PLOTS_DIR)


if __name__ == "__main__":
    run_main(main)
