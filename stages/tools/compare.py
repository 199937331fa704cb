"""`compare`: the comparison grid as DVC experiments, one after another, or one per GPU at a
time on a machine with several (not a stage).

    python -m stages compare                 # `make compare`: the real preset's grid
    python -m stages compare --dry-run       # what is done, what would run
    python -m stages compare --preset demo --limit 1
    python -m stages compare --held-out train_slice --learning-rate 2e-3   # part of the grid
    python -m stages compare --archive docs/results/real/exp_show.json    # go on from a saved grid

Each point of the preset's `compare` grid (seeds x student learning rates x held-out sources x
LGTM modes, pipeline/compare.py) is one `dvc exp run --temp -S preset=... -S seed=... ...`: in a
temporary copy of the repository, so the workspace stays as it is, and recorded by DVC as an
experiment (`dvc exp show`). Points some finished experiment already ran are skipped, so a
killed `make compare` picks up where it stopped when rerun (a killed experiment reruns, its
finished stages restored from DVC's run-cache). Each experiment's log goes to
reports/compare/logs/; the progress line says which point runs, how many are left, and the
time so far. Then `python -m stages paper-table --preset compare`.

DVC keeps experiments in the clone that ran them. With `--archive FILE` (a saved `dvc exp show
--json`, created if missing) the points its finished experiments ran count as done too, and the
file is brought up to date at the start and after each point: a grid too long for one machine
or one sitting goes on in a fresh clone from the file, and `paper-table --exp-show FILE` makes
the table of all of it. The archive says nothing of the machine or the code that ran each
point: pool only what ran the same code, and say where each ran.

With several GPUs (all the machine's, or those CUDA_VISIBLE_DEVICES names), the pending points
go to DVC's queue (`dvc exp run --queue`) and `dvc queue start -j GPUS` runs them, each stage
process on a GPU of its own (stages/environment.py `claim_device`); the tool waits for the
queue, then says which points failed (`dvc queue logs`). A rerun after a kill first stops the
queue's experiments and drops what it left queued, then queues what is still pending.
"""

from __future__ import annotations

import logging
import os
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
    preset: str = typer.Option("real", "--preset", help="The preset whose `compare` grid runs."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List the points, done and pending, and run nothing."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Run at most this many pending points."),
    seed: list[int] = typer.Option([], "--seed", help="Only these seeds of the grid (repeatable)."),
    learning_rate: list[float] = typer.Option([], "--learning-rate", help="Only these student rates (repeatable)."),
    held_out: list[str] = typer.Option([], "--held-out", help="Only these held-out sources (repeatable)."),
    lgtm_mode: list[str] = typer.Option([], "--lgtm-mode", help="Only these LGTM modes (repeatable)."),
    archive: Path | None = typer.Option(None, "--archive", help="A saved `dvc exp show --json` whose finished "
                                        "experiments count as done; each point this run finishes is added to it."),
) -> None:
    """Run every point of the preset's grid that no finished experiment has run."""
    from pipeline.compare import grid, pending, restricted
    from pipeline.errors import InputError
    from pipeline.reporting.experiments import finished_params
    from pipeline.settings.params import compose, load_preset

    grid_params = load_preset(preset).compare
    points = grid(grid_params.seeds, grid_params.learning_rates, grid_params.held_out, grid_params.lgtm_modes)
    points = restricted(points, seeds=seed, learning_rates=learning_rate, held_out=held_out, lgtm_modes=lgtm_mode)
    if not points:
        raise InputError(f"compare: no point of preset {preset}'s grid has the chosen --seed/--learning-rate/"
                         "--held-out/--lgtm-mode (`--dry-run` without them lists the grid)")
    finished = finished_params(_experiments(archive, save=not dry_run))
    todo = pending(points, lambda point: compose(*point.overrides(preset)), finished)
    log.info("preset %s: %d points, %d done, %d to run", preset, len(points), len(points) - len(todo), len(todo))
    todo = todo[:limit] if limit else todo
    if dry_run:
        for point in points:
            typer.echo(f"{'to run' if point in todo else 'done  '}  {point}")
        return
    devices = _gpus()
    if len(devices) > 1 and todo:
        _run_queued(todo, preset, devices, archive)
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
        if archive:
            _experiments(archive)
    log.info("grid done in %.0f min: python -m stages paper-table --preset %s", (time.monotonic() - started) / 60,
             preset)


DVC = [sys.executable, "-m", "dvc"]
QUEUE_POLL_S = 30


def _experiments(archive: Path | None, save: bool = True) -> list[dict]:
    """`dvc exp show --json` here; with an archive, the archive with this clone's finished
    experiments added, written back (unless `save` is false) so that a kill loses none."""
    from pipeline.atomic import write_json
    from pipeline.reporting.experiments import archived, exp_show, read_exp_show

    live = exp_show(Path.cwd())
    if archive is None:
        return live
    entries = archived(read_exp_show(archive) if archive.exists() else [], live)
    if save:
        write_json(archive, entries)
    return entries


def _gpus() -> list[str]:
    import torch

    from pipeline.compare import gpu_ids

    return gpu_ids(os.environ.get("CUDA_VISIBLE_DEVICES"), torch.cuda.device_count())


def _run_queued(todo, preset: str, devices: list[str], archive: Path | None) -> None:
    """The points through DVC's queue, one worker and one experiment per GPU at a time."""
    from pipeline.compare import pending, unfinished
    from pipeline.errors import InputError
    from pipeline.reporting.experiments import finished_params
    from pipeline.settings.params import compose
    from stages.environment import DEVICE_LOCKS_VARIABLE, DEVICES_VARIABLE

    # What a killed run of this tool left in the queue: stopped and dropped, queued afresh below
    # (a killed experiment's finished stages come back from DVC's run-cache).
    subprocess.run([*DVC, "queue", "stop", "--kill"], check=False)
    subprocess.run([*DVC, "queue", "remove", "--queued"], check=False)
    for point in todo:
        command = [*DVC, "exp", "run", "--queue"]
        for override in point.overrides(preset):
            command += ["-S", override]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    env = {**os.environ, DEVICES_VARIABLE: ",".join(devices),
           DEVICE_LOCKS_VARIABLE: str(Path(".dvc/tmp/lgtm-devices").resolve())}
    env.pop("CUDA_VISIBLE_DEVICES", None)  # each stage process picks its own among `devices`
    log.info("%d points queued; %d workers, one per GPU (%s)", len(todo), len(devices), ",".join(devices))
    subprocess.run([*DVC, "queue", "start", "-j", str(len(devices))], check=True, env=env)
    started = time.monotonic()
    while left := unfinished(subprocess.run([*DVC, "queue", "status"], capture_output=True, text=True,
                                            check=True).stdout):
        log.info("%d experiments queued or running; %.0f min so far", left, (time.monotonic() - started) / 60)
        time.sleep(QUEUE_POLL_S)
    failed = pending(todo, lambda point: compose(*point.overrides(preset)), finished_params(_experiments(archive)))
    if failed:
        raise InputError(f"dvc queue: {len(failed)} experiments failed, the first {failed[0]}; `dvc queue status` "
                         "and `dvc queue logs NAME` say why; fix it and rerun: the finished points are kept")
    log.info("grid done in %.0f min: python -m stages paper-table --preset %s", (time.monotonic() - started) / 60,
             preset)


if __name__ == "__main__":
    run_main(main)
