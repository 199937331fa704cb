"""A run's outputs (pipeline/outputs.py) turned into dev metrics and benchmark-server files.

Needs numpy only (scikit-learn for F1 and MCC): the evaluate stage never loads a model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.atomic import atomic_path
from pipeline.metrics import compute_metrics, majority_label, predictions_from_logits
from pipeline.outputs import SplitOutput
from pipeline.submission import HEADER, prediction_text
from pipeline.tasks import Task, test_targets


def dev_metrics(task: Task, outputs: dict[str, SplitOutput], train_labels) -> dict:
    """Every dev split's metrics (MNLI: matched and mismatched), and beside each the score of
    always predicting the training majority class."""
    majority = majority_label(train_labels)
    result = {"dev": {}, "majority_class": {}}
    for split in task.dev_splits:
        output = outputs[split.name]
        result["dev"][split.name] = compute_metrics(task, predictions_from_logits(task, output.logits), output.labels)
        result["majority_class"][split.name] = compute_metrics(task, np.full_like(output.labels, majority), output.labels)
    return result


def server_files(task: Task, outputs: dict[str, SplitOutput]) -> dict[str, list[str]]:
    """{server file name: rows} for the test splits a model of `task` predicts (MNLI: also AX)."""
    files = {}
    for target, split, key in test_targets(task):
        output = outputs[key]
        predictions = predictions_from_logits(target, output.logits)
        files[target.submission_files[split.name]] = [
            f"{idx}\t{prediction_text(target, p)}" for idx, p in zip(output.idx.tolist(), predictions)
        ]
    return files


def write_prediction_files(directory: Path, files: dict[str, list[str]]) -> None:
    with atomic_path(directory) as tmp:
        tmp.mkdir()
        for name, rows in files.items():
            (tmp / name).write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
