"""The per-task overlays `dvc plots show` draws: every run's curves of a task in one chart.

DVCLive writes one TSV per logged quantity and run (live/RUN/TASK/plots/metrics/NAME.tsv,
columns `step` and the quantity's last name), so DVC alone would draw one chart per file.
This module gathers them into one tidy CSV per task and chart:

- plots/TASK/dev.csv: `step,run,model,kept,METRIC` (METRIC: the task's selection metric, e.g.
  `accuracy`, `f1`): its value on the selection split (dev unless `held_out.source` is
  train_slice) at each evaluation, of the run's student and, for the methods that train one,
  its teacher. `run` is the results table's row (`LGTM`, `Teacher`, ...); `model` is `student`,
  `teacher`, or `assistant` (TAKD's, from its own run takd-assistant). The teacher fine-tuned
  alone (finetune-teacher) is the `Teacher` run's `teacher`. `kept` is 1 on the one row per run
  whose checkpoint the run keeps, the model the results table reports, and 0 elsewhere.
- plots/TASK/loss.csv: `step,run,name,loss`: each training loss, named for the model it
  trains (finetune-teacher's `student_loss` is `teacher_loss`, TAKD's assistant's
  `assistant_loss`). At most LOSS_POINTS points per curve: longer curves are averaged over
  windows of consecutive steps, each point the window's last step and its mean.

The quantity is each file's last column, which DVC plots when dvc.yaml names no `y`: one
declaration, `plots/` with the template .dvc/plots/overlay.json, draws every task's two charts
(the template tells them apart by dev.csv's `model` column; its description says what it draws).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from pipeline.atomic import write_text
from pipeline.errors import InputError
from pipeline.glue.tasks import TASKS
from pipeline.settings.runs import reported_run, run_label

LOSS_COLUMNS = ("step", "run", "name", "loss")
LOSS_POINTS = 100  # per curve: its shape in a 440-pixel chart; a page of every run and task stays a few MB
STUDENT_PREFIX = "student_"  # a loss the step computes for the student it trains (student_loss)


def read_log(path: Path) -> list[tuple[int, float]]:
    """(step, value) of each row of a DVCLive metric file (a header, then `step<TAB>value`)."""
    if not path.is_file():
        raise InputError(f"{path}: missing; the training stage's DVCLive logs are expected here")
    rows = list(csv.reader(io.StringIO(path.read_text()), delimiter="\t"))
    if not rows or rows[0][:1] != ["step"]:
        raise InputError(f"{path}: expected a DVCLive log, a header `step<TAB>NAME`, then a row per step")
    try:
        return [(int(row[0]), float(row[-1])) for row in rows[1:]]
    except (ValueError, IndexError):
        raise InputError(f"{path}: a row is not `step<TAB>number`") from None


def _logs(live_root: Path, run: str, task: str) -> list[tuple[Path, str]]:
    """(live directory, the role of the model it calls `student`) of each log of `run`: its own,
    and, for TAKD, its assistant's run."""
    reported = reported_run(run)
    logs = [(live_root / run / task, reported.model)]
    if reported.assistant:
        logs.append((live_root / reported.assistant / task, "assistant"))
    return logs


def kept_step(points: list[tuple[int, float]]) -> int | None:
    """The step of the checkpoint a run keeps: its first evaluation with the best score, as the
    training loop keeps a new checkpoint only when its score beats the best so far
    (pipeline/training/loop.py, _evaluate_and_record); None when it never evaluated."""
    if not points:
        return None
    best = max(value for _, value in points)
    return next(step for step, value in points if value == best)


def dev_rows(live_root: Path, runs: list[str], task: str) -> list[dict]:
    """The rows of plots/TASK/dev.csv: each run's students (and trained teachers) by step, the
    kept checkpoint of the model the results table reports marked."""
    metric = TASKS[task].selection_metric
    rows = []
    for run in runs:
        logs = _logs(live_root, run, task)
        reported = logs[0][1]  # the run's own model: TAKD's assistant and trained teachers are not its row
        for live, role in logs:
            evaluations = live / "plots" / "metrics" / "eval"
            curves = [(role, evaluations / "student" / f"{metric}.tsv")]
            teacher_log = evaluations / "teacher" / f"{metric}.tsv"
            if teacher_log.is_file():  # only the methods that train their teacher log one
                curves.append(("teacher", teacher_log))
            for model, path in curves:
                points = read_log(path)
                kept = kept_step(points) if model == reported else None
                rows += [{"step": step, "run": run_label(run), "model": model, "kept": int(step == kept),
                          metric: value} for step, value in points]
    return rows


def thin(points: list[tuple[int, float]], limit: int) -> list[tuple[int, float]]:
    """At most `limit` points: the mean of each window of ceil(len / limit) consecutive points,
    at the window's last step (the last window may be shorter)."""
    width = math.ceil(len(points) / limit) if points else 1
    windows = [points[start:start + width] for start in range(0, len(points), width)]
    return [(window[-1][0], sum(value for _, value in window) / len(window)) for window in windows]


def loss_rows(live_root: Path, runs: list[str], task: str, limit: int = LOSS_POINTS) -> list[dict]:
    """The rows of plots/TASK/loss.csv: each run's training losses by step, thinned to `limit`."""
    rows = []
    for run in runs:
        for live, role in _logs(live_root, run, task):
            train = live / "plots" / "metrics" / "train"
            # Every logged loss ends in `loss`; the learning rate (student_lr) is not one.
            paths = sorted(train.glob("*loss.tsv"))
            if not paths:
                raise InputError(f"{train}: no *loss.tsv; the training stage's DVCLive logs are expected here")
            for path in paths:
                name = path.stem
                if name.startswith(STUDENT_PREFIX):
                    name = role + "_" + name[len(STUDENT_PREFIX):]
                rows += [{"step": step, "run": run_label(run), "name": name, "loss": value}
                         for step, value in thin(read_log(path), limit)]
    return rows


def to_csv(rows: list[dict], columns: tuple[str, ...]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_overlays(live_root: Path, runs: list[str], tasks: list[str], out_dir: Path) -> list[Path]:
    """out_dir/TASK/dev.csv and loss.csv for each of `tasks`, from `runs` (finetune-teacher and
    method ids, in the table's order: the charts' colours follow it); the paths written."""
    written = []
    for task in tasks:
        dev_columns = ("step", "run", "model", "kept", TASKS[task].selection_metric)
        for name, rows, columns in (("dev.csv", dev_rows(live_root, runs, task), dev_columns),
                                    ("loss.csv", loss_rows(live_root, runs, task), LOSS_COLUMNS)):
            path = out_dir / task / name
            write_text(path, to_csv(rows, columns))
            written.append(path)
    return written
