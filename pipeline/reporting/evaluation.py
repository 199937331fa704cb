"""A run's outputs (pipeline/results/outputs.py) turned into dev metrics and benchmark-server files.

Needs numpy only (scikit-learn for F1 and MCC): the evaluate stage never loads a model.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from pipeline.atomic import atomic_path, write_json, write_text
from pipeline.glue.normalized import read_split
from pipeline.glue.tasks import Task, test_targets
from pipeline.reporting.server_score import test_metrics
from pipeline.reporting.submission import HEADER
from pipeline.results.metrics import compute_metrics, majority_label, predictions_from_logits
from pipeline.results.outputs import SplitOutput, load_outputs, output_keys
from pipeline.results.summary import RunSummary

log = logging.getLogger("evaluate")


def dev_metrics(task: Task, outputs: dict[str, SplitOutput], train_labels) -> dict:
    """Every dev split's metrics (MNLI: matched and mismatched), beside each the score of
    always predicting the training majority class and, for a classification, the share of the
    rows given the most predicted class (1.0: a constant prediction)."""
    majority = majority_label(train_labels)
    result = {"dev": {}, "majority_class": {}}
    if not task.is_regression:
        result["largest_predicted_class"] = {}
    for split in task.dev_splits:
        output = outputs[split.name]
        predictions = predictions_from_logits(task, output.logits)
        result["dev"][split.name] = compute_metrics(task, predictions, output.labels)
        result["majority_class"][split.name] = compute_metrics(task, np.full_like(output.labels, majority), output.labels)
        if not task.is_regression:
            result["largest_predicted_class"][split.name] = largest_class_share(predictions)
    return result


def largest_class_share(predictions: np.ndarray) -> float:
    """The share of `predictions` (label indices) that the most predicted label takes."""
    return round(float(np.bincount(predictions).max() / len(predictions)), 4) if len(predictions) else 0.0


def server_files(task: Task, outputs: dict[str, SplitOutput]) -> dict[str, list[str]]:
    """{server file name: rows} for the test splits a model of `task` predicts (MNLI: also AX)."""
    files = {}
    for target, split, key in test_targets(task):
        output = outputs[key]
        predictions = predictions_from_logits(target, output.logits)
        files[target.submission_files[split.name]] = [
            f"{idx}\t{target.label_text(p)}" for idx, p in zip(output.idx.tolist(), predictions)
        ]
    return files


def _server_file_text(rows: list[str]) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def write_prediction_files(directory: Path, files: dict[str, list[str]]) -> None:
    """`directory` replaced whole by the server files `files`: a stage's own output, where a
    file of an earlier run must not linger."""
    with atomic_path(directory) as tmp:
        tmp.mkdir()
        for name, rows in files.items():
            (tmp / name).write_text(_server_file_text(rows), encoding="utf-8")


def add_prediction_files(directory: Path, files: dict[str, list[str]]) -> list[str]:
    """The server files `files` written into `directory`, which may hold anything else: each
    file is replaced atomically, and no other file is touched. Returns the names that replaced
    a file already there."""
    directory.mkdir(parents=True, exist_ok=True)
    replaced = [name for name in files if (directory / name).exists()]
    for name, rows in files.items():
        write_text(directory / name, _server_file_text(rows))
    return replaced


def evaluate_run(task: Task, run_dir: Path, train_file: Path, *, metrics_path: Path, predictions_dir: Path,
                 truth_dir: Path) -> dict:
    """Score a finished run and write its metrics and server files; returns the metrics.

    The metrics are the dev metrics of its kept student with the majority-class baseline of
    each (from `train_file`'s labels), the run's selection record, the teacher's best, and,
    where `truth_dir` has the true test labels (the synthetic data), the test scores of its
    server files, scored as the benchmark server scores them.
    """
    outputs = load_outputs(run_dir / "outputs", output_keys(task))
    metrics = dev_metrics(task, outputs, [example["label"] for example in read_split(train_file)])
    summary = RunSummary.read(run_dir / "summary.json")
    metrics["selection"] = {"held_out": summary.held_out, "selection_metric": summary.selection_metric,
                            "best": summary.best, "best_step": summary.best_step, "steps": summary.steps}
    metrics["teacher_best"] = summary.teacher_best
    files = server_files(task, outputs)
    write_prediction_files(predictions_dir, files)
    test = test_metrics(task, predictions_dir, truth_dir)
    if test is not None:
        metrics["test"] = test
    write_json(metrics_path, metrics)
    for split, scores in metrics["dev"].items():
        log.info("%s %s %s: %s (majority class: %s)", task.name, summary.method, split, scores,
                 metrics["majority_class"][split])
    return metrics
