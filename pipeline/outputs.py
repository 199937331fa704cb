"""A run's outputs: its best checkpoint's logits on every dev split and every test split it
predicts, saved beside the model.

runs/TASK/RUN/outputs/KEY.{logits,labels,idx}.npy for each split key (`dev`, `dev_matched`,
`test`, `ax_test`, ...). The training stage computes them (`predict_logits`) while the model
is loaded; the evaluate stage turns them into metrics and server files without torch. `np.save` writes the
same bytes for the same arrays, so an unchanged run leaves DVC's hashes alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import InputError
from pipeline.tasks import Task, test_targets


@dataclass(frozen=True)
class SplitOutput:
    logits: np.ndarray  # (examples, labels), float32
    labels: np.ndarray  # the split's labels (-1 for test rows)
    idx: np.ndarray  # each example's index in its GLUE file


FIELDS = ("logits", "labels", "idx")


def output_keys(task: Task) -> list[str]:
    """The splits whose logits a run saves: every dev split, and every test split it predicts."""
    return [split.name for split in task.dev_splits] + [key for _, _, key in test_targets(task)]


def predict_logits(model, data_loader, accelerator) -> tuple[np.ndarray, np.ndarray]:
    """(logits, labels) of a whole split, gathered from every process in the loader's order."""
    import torch

    from pipeline.distill.base import model_inputs

    was_training = model.training
    model.eval()
    all_logits, all_labels = [], []
    with torch.no_grad():
        for batch in data_loader:
            logits = model(**model_inputs(batch)).logits
            logits, labels = accelerator.gather_for_metrics((logits, batch["labels"]))
            all_logits.append(logits.float().cpu().numpy())
            all_labels.append(labels.cpu().numpy())
    model.train(was_training)
    return np.concatenate(all_logits), np.concatenate(all_labels)


def save_outputs(directory: Path, outputs: dict[str, SplitOutput]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for key, output in outputs.items():
        for field in FIELDS:
            np.save(directory / f"{key}.{field}.npy", getattr(output, field), allow_pickle=False)


def load_outputs(directory: Path, keys: list[str]) -> dict[str, SplitOutput]:
    outputs = {}
    for key in keys:
        paths = [directory / f"{key}.{field}.npy" for field in FIELDS]
        missing = [str(path) for path in paths if not path.is_file()]
        if missing:
            raise InputError(f"{missing[0]}: missing; rerun the training stage that writes {directory}")
        outputs[key] = SplitOutput(*(np.load(path, allow_pickle=False) for path in paths))
    return outputs
