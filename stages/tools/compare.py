"""`compare`: the comparison grid as DVC experiments, run one after another (not a stage).

    python -m stages compare                 # `make compare`: the compare preset's grid
    python -m stages compare --dry-run       # what is done, what would run
    python -m stages compare --preset demo --limit 1

Each point of the preset's `compare` grid (seeds x student learning rates x held-out sources x
LGTM modes, pipeline/compare.py) is one `dvc exp run --temp -S preset=... -S seed=... ...`: in a
temporary copy of the repository, so the workspace stays as it is, and recorded by DVC as an
experiment (`dvc exp show`). Points some finished experiment already ran are skipped, so a
killed `make compare` picks up where it stopped when rerun (a killed experiment reruns, its
finished stages restored from DVC's run-cache). Each experiment's log goes to
reports/compare/logs/; the progress line says which point runs, how many are left, and the
time so far. Then `python -m stages paper-table --preset compare`.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import typer

from stages.command import run_main
from stages.paths import REPORTS_DIR

LOGS_DIR = REPORTS_DIR / "compare" / "logs"
log = logging.getLogger("compare")


def main(
    preset: str = typer.Option("compare", "--preset", help="The preset whose `compare` grid runs."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the points, done and pending, and run nothing."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Run at most this many pending points."),
) -> None:
    """Run every point of the preset's grid that no finished experiment has run."""
    from pipeline.compare import grid, pending
    from pipeline.errors import InputError
    from pipeline.reporting.experiments import exp_show, finished_params
    from pipeline.settings.params import compose, load_preset

    grid_params = load_preset(preset).compare
    points = grid(grid_params.seeds, grid_params.learning_rates, grid_params.held_out, grid_params.lgtm_modes)
    todo = pending(points, lambda point: compose(*point.overrides(preset)), finished_params(exp_show(Path.cwd())))
    log.info("preset %s: %d points, %d done, %d to run", preset, len(points), len(points) - len(todo), len(todo))
    todo = todo[:limit] if limit else todo
    if dry_run:
        for point in points:
            typer.echo(f"{'to run' if point in todo else 'done  '}  {point}")
        return
    LOGS_DIR.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    for number, point in enumerate(todo, 1):
        log_path = LOGS_DIR / f"{preset}-{point.held_out}-seed{point.seed}-lr{point.learning_rate:g}-{point.lgtm_mode}.log"
        log.info("[%d/%d] %s (log: %s; %.0f min so far)", number, len(todo), point, log_path,
                 (time.monotonic() - started) / 60)
        command = [sys.executable, "-m", "dvc", "exp", "run", "--temp"]
        for override in point.overrides(preset):
            command += ["-S", override]
        with open(log_path, "w", encoding="utf-8") as out:
            status = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT).returncode
        if status != 0:
            tail = log_path.read_text(encoding="utf-8").strip().splitlines()[-1:] or ["no output"]
            raise InputError(f"{log_path}: the experiment of {point} failed ({tail[0]}); fix it and rerun: "
                             "the finished points are kept")
    log.info("grid done in %.0f min: python -m stages paper-table --preset %s", (time.monotonic() - started) / 60,
             preset)


if __name__ == "__main__":
    run_main(main)
