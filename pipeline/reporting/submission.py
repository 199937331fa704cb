"""The benchmark-server zip: all 11 files, validated before it is written.

Tasks without predictions are filled with the majority class of their training set (the
mean score for STS-B; AX with MNLI's) and listed in the report, never silently.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from pipeline.atomic import atomic_path
from pipeline.errors import InputError
from pipeline.glue.normalized import read_split, split_path
from pipeline.glue.tasks import TASKS, Task
from pipeline.results.metrics import majority_label

HEADER = "index\tprediction"

SUBMISSION_FILES = [name for task in TASKS.values() for name in task.submission_files.values()]


def _expected_indices(glue_data: Path, task: Task, split: str) -> list[int]:
    path = split_path(glue_data / task.name, split)
    if not path.is_file():
        raise InputError(f"{path}: missing; every task must be downloaded for a complete submission (data.tasks)")
    return [example["idx"] for example in read_split(path)]


def majority_rows(glue_data: Path, task: Task, split: str) -> list[str]:
    """A baseline file: the majority training label for every test row."""
    source = TASKS[task.predicted_with] if task.predicted_with else task
    majority = majority_label([e["label"] for e in read_split(split_path(glue_data / source.name, "train"))])
    return [f"{idx}\t{task.label_text(majority)}" for idx in _expected_indices(glue_data, task, split)]


def validate_file(name: str, lines: list[str], task: Task, expected_indices: list[int]) -> None:
    """Header, one row per test example in test order, and only the task's label vocabulary."""
    if not lines or lines[0] != HEADER:
        raise InputError(f"{name}: header must be {HEADER!r}, got {lines[0] if lines else 'an empty file'!r}")
    rows = lines[1:]
    if len(rows) != len(expected_indices):
        raise InputError(f"{name}: {len(rows)} rows, the test set has {len(expected_indices)}")
    for lineno, (row, idx) in enumerate(zip(rows, expected_indices), 2):
        fields = row.split("\t")
        if len(fields) != 2 or fields[0] != str(idx):
            raise InputError(f"{name}:{lineno}: expected index {idx} and a prediction, got {row!r}")
        if task.is_regression:
            try:
                float(fields[1])
            except ValueError:
                raise InputError(f"{name}:{lineno}: {fields[1]!r} is not a score") from None
        elif fields[1] not in task.file_labels:
            raise InputError(f"{name}:{lineno}: label {fields[1]!r} not in {list(task.file_labels)}")


def build_submission(prediction_dirs: list[Path], glue_data: Path, zip_path: Path) -> dict:
    """Collect, fill, validate and zip; returns the report (which files were predicted or filled)."""
    found = {p.name: p for directory in prediction_dirs for p in directory.glob("*.tsv")}
    report = {"predicted": [], "filled_with_majority_class": []}
    contents = {}
    for task in TASKS.values():
        for split, name in task.submission_files.items():
            if name in found:
                lines = found[name].read_text(encoding="utf-8").splitlines()
                report["predicted"].append(name)
            else:
                lines = [HEADER, *majority_rows(glue_data, task, split)]
                report["filled_with_majority_class"].append(name)
            validate_file(name, lines, task, _expected_indices(glue_data, task, split))
            contents[name] = "\n".join(lines) + "\n"
    with atomic_path(zip_path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in SUBMISSION_FILES:
            # A fixed timestamp: the same predictions make the same zip, byte for byte.
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), contents[name], zipfile.ZIP_DEFLATED)
    return report
