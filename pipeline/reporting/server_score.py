"""Benchmark-server files scored against true test labels, as the GLUE server scores them.

Only the synthetic GLUE knows its test labels: its download stage writes
data/glue/TASK/truth/SPLIT.tsv, a header `index<TAB>label` then one row per test example, the
label spelled as a submission spells it (`Task.file_labels`; a float score for STS-B). A real
GLUE download has no truth/ directory, and its files stay unscored.

The server's metrics: CoLA Matthews correlation; SST-2, MNLI-m, MNLI-mm, QNLI, RTE and WNLI
accuracy; MRPC and QQP F1 of the class "1" and accuracy; STS-B Pearson and Spearman; AX the
three-class Matthews correlation (R3, Gorodkin's R_K, which scikit-learn computes). Its GLUE
score is the leaderboard's: each task's metrics averaged, MNLI-m and MNLI-mm averaged into one
MNLI, AX left out, then the mean over the tasks. Every score here is a fraction (0..1), as in
the metrics files; the server shows them x 100.
"""

from __future__ import annotations

import math
import zipfile
from pathlib import Path
from statistics import mean

import numpy as np

from pipeline.errors import InputError
from pipeline.glue.synthetic import TRUTH_DIR
from pipeline.glue.tasks import TASKS, Task
from pipeline.reporting.submission import HEADER, SUBMISSION_FILES
from pipeline.results.metrics import compute_metrics

TRUTH_HEADER = "index\tlabel"
DIAGNOSTIC = "ax"  # scored, but not a task of the GLUE score


def task_truth_dir(glue_data: Path, task: str) -> Path:
    """Where the true test labels of `task` are (data/glue/TASK/truth), when it has them."""
    return Path(glue_data) / task / TRUTH_DIR


def _is_index(field: str) -> bool:
    return field.isascii() and field.isdigit()


def read_truth(path: Path) -> dict[int, str]:
    """{test index: true label as spelled in a submission} of one truth file."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"{path}: truth file not found") from None
    if not lines or lines[0] != TRUTH_HEADER:
        raise InputError(f"{path}:1: header must be {TRUTH_HEADER!r}, got {lines[0] if lines else 'an empty file'!r}")
    truth: dict[int, str] = {}
    for lineno, line in enumerate(lines[1:], 2):
        fields = line.split("\t")
        if len(fields) != 2 or not _is_index(fields[0]) or not fields[1]:
            raise InputError(f"{path}:{lineno}: expected 'index<TAB>label', got {line!r}")
        if int(fields[0]) in truth:
            raise InputError(f"{path}:{lineno}: index {fields[0]} appears twice")
        truth[int(fields[0])] = fields[1]
    if not truth:
        raise InputError(f"{path}: no rows after the header; expected one per test example")
    return truth


def _parse(task: Task, value: str, where: str) -> int | float:
    """A label's index in `task.file_labels`, or the score of a regression task."""
    if task.is_regression:
        try:
            score = float(value)
        except ValueError:
            score = math.nan
        if not math.isfinite(score):
            raise InputError(f"{where}: {value!r} is not a finite score")
        return score
    if value not in task.file_labels:
        raise InputError(f"{where}: label {value!r} not in {list(task.file_labels)}")
    return task.file_labels.index(value)


def _few(indices: list[int]) -> str:
    shown = ", ".join(map(str, indices[:5]))
    return shown + (f" and {len(indices) - 5} more" if len(indices) > 5 else "")


def score_rows(task: Task, split_name: str, rows: list[str], truth: dict[int, str], *,
               source: str | None = None) -> dict[str, float]:
    """{metric: score} of one server file's rows (its lines after the header) against `truth`.

    Every test index must be predicted exactly once, in any order. `source` names the file in
    errors (default: the server's name of the split's file); a row is named by its line there.
    """
    source = source or task.submission_files[split_name]
    predicted: dict[int, int | float] = {}
    line_of: dict[int, int] = {}
    for lineno, row in enumerate(rows, 2):
        fields = row.split("\t")
        if len(fields) != 2 or not _is_index(fields[0]):
            raise InputError(f"{source}:{lineno}: expected 'index<TAB>prediction', got {row!r}")
        idx = int(fields[0])
        if idx not in truth:
            raise InputError(f"{source}:{lineno}: index {idx} is not in the test set ({len(truth)} examples)")
        if idx in line_of:
            raise InputError(f"{source}:{lineno}: index {idx} predicted twice (first on line {line_of[idx]})")
        line_of[idx] = lineno
        predicted[idx] = _parse(task, fields[1], f"{source}:{lineno}")
    missing = [idx for idx in truth if idx not in predicted]
    if missing:
        raise InputError(f"{source}: {len(missing)} of {len(truth)} test indices not predicted: {_few(missing)}")
    labels = [_parse(task, label, f"{source}: true label of index {idx}") for idx, label in truth.items()]
    predictions = [predicted[idx] for idx in truth]
    if task.name == DIAGNOSTIC:
        from sklearn.metrics import matthews_corrcoef

        return {"mcc": float(matthews_corrcoef(labels, predictions))}
    return compute_metrics(task, np.array(predictions), np.array(labels))


def _rows(lines: list[str], source: str) -> list[str]:
    """A server file's rows, after checking its header."""
    if not lines or lines[0] != HEADER:
        raise InputError(f"{source}:1: header must be {HEADER!r}, got {lines[0] if lines else 'an empty file'!r}")
    return lines[1:]


def glue_score(scores: dict[str, dict[str, float]]) -> tuple[float | None, list[str]]:
    """The leaderboard's GLUE score of the scored files, and the tasks it averages (their GLUE
    names): each file's metrics averaged, a task's files averaged (MNLI-m and MNLI-mm), AX left
    out. None when no task was scored. It is the server's score only when all nine are."""
    by_task = {}
    for task in TASKS.values():
        files = [scores[name] for name in task.submission_files.values() if name in scores]
        if files and task.name != DIAGNOSTIC:
            by_task[task.glue_dir] = mean(mean(metrics.values()) for metrics in files)
    return (mean(by_task.values()) if by_task else None), list(by_task)


def score_submission(zip_path: Path, glue_data: Path) -> dict:
    """Score a server zip against the true test labels under `glue_data`.

    Returns {"scores": {server file: {metric: score}}, "unscored": [files without truth],
    "glue_score": fraction or None, "glue_score_tasks": [GLUE task names it averages]}.
    A zip without all 11 files at its root is refused, as the server refuses it.
    """
    try:
        archive = zipfile.ZipFile(zip_path)
    except FileNotFoundError:
        raise InputError(f"{zip_path}: not found") from None
    except zipfile.BadZipFile:
        raise InputError(f"{zip_path}: not a zip file") from None
    with archive:
        missing = [name for name in SUBMISSION_FILES if name not in archive.namelist()]
        if missing:
            raise InputError(f"{zip_path}: lacks {', '.join(missing)}; the server takes only zips with all "
                             f"{len(SUBMISSION_FILES)} files at the root")
        scores, unscored = {}, []
        for task in TASKS.values():
            for split, name in task.submission_files.items():
                truth_path = task_truth_dir(glue_data, task.name) / f"{split}.tsv"
                if not truth_path.is_file():
                    unscored.append(name)
                    continue
                source = f"{zip_path}/{name}"
                try:
                    lines = archive.read(name).decode("utf-8").splitlines()
                except UnicodeDecodeError:
                    raise InputError(f"{source}: not UTF-8 text") from None
                scores[name] = score_rows(task, split, _rows(lines, source), read_truth(truth_path), source=source)
    score, tasks = glue_score(scores)
    return {"scores": scores, "unscored": unscored, "glue_score": score, "glue_score_tasks": tasks}


def test_metrics(task: Task, prediction_dir: Path, truth_dir: Path) -> dict[str, dict[str, float]] | None:
    """{test split: {metric: score}} of a run's server files (predictions/RUN/TASK/) for the
    task's own test splits (MNLI: test_matched and test_mismatched, not AX), those with a truth
    file in `truth_dir`; None when it has none (a real GLUE download)."""
    result = {}
    for split in task.test_splits:
        truth_path = Path(truth_dir) / f"{split.name}.tsv"
        if not truth_path.is_file():
            continue
        path = Path(prediction_dir) / task.submission_files[split.name]
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise InputError(f"{path}: prediction file not found; the evaluate stage writes it") from None
        result[split.name] = score_rows(task, split.name, _rows(lines, str(path)), read_truth(truth_path),
                                        source=str(path))
    return result or None


# pytest would collect `test_metrics` from a test module that imports it.
test_metrics.__test__ = False
