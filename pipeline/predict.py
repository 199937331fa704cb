"""A checkpoint applied to a task: dev metrics, and test predictions as GLUE server files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pipeline.atomic import atomic_path
from pipeline.batches import loader
from pipeline.data.normalized import split_path
from pipeline.distill.base import model_inputs
from pipeline.metrics import compute_metrics, majority_label, predictions_from_logits
from pipeline.submission import HEADER, prediction_text
from pipeline.tasks import TASKS, Task
from pipeline.tokenize import read_split_table, tokenize_split

@torch.no_grad()
def logits_of(model, tokenizer, dataset, batch_size: int) -> np.ndarray:
    model.eval()
    batches = loader(dataset, tokenizer, batch_size, shuffle=False)
    return np.concatenate([model(**model_inputs(batch)).logits.float().numpy() for batch in batches])


def dev_metrics(model, tokenizer, splits, task: Task, batch_size: int) -> dict:
    """Metrics on every dev split (MNLI: matched and mismatched), and the majority-class
    baseline on each, from the tokenized splits of the pipeline."""
    majority = majority_label(splits["train"]["labels"])
    result = {"dev": {}, "majority_class": {}}
    for split in task.dev_splits:
        labels = np.asarray(splits[split.name]["labels"])
        logits = logits_of(model, tokenizer, splits[split.name], batch_size)
        result["dev"][split.name] = compute_metrics(task, predictions_from_logits(task, logits), labels)
        result["majority_class"][split.name] = compute_metrics(task, np.full_like(labels, majority), labels)
    return result


def predict_test_files(model, tokenizer, glue_data: Path, task: Task, *, max_seq_length: int, batch_size: int) -> dict[str, list[str]]:
    """{submission file name: rows} for every test split of `task` and of tasks predicted with it (AX).

    The test files are tokenized here with the checkpoint's own tokenizer, so that any
    checkpoint can be predicted, not only the pipeline's.
    """
    targets = [(task, split) for split in task.test_splits]
    for other in TASKS.values():
        if other.predicted_with == task.name:
            targets += [(other, split) for split in other.test_splits]
    files = {}
    for target, split in targets:
        table = read_split_table(split_path(glue_data / target.name, split.name))
        encoded = tokenize_split(table, tokenizer, target, max_seq_length)
        predictions = predictions_from_logits(target, logits_of(model, tokenizer, encoded, batch_size))
        files[target.submission_files[split.name]] = [
            f"{idx}\t{prediction_text(target, p)}" for idx, p in zip(table["idx"], predictions)
        ]
    return files


def write_prediction_files(directory: Path, files: dict[str, list[str]]) -> None:
    with atomic_path(directory) as tmp:
        tmp.mkdir()
        for name, rows in files.items():
            (tmp / name).write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
