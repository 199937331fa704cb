"""A run's outputs: its best checkpoint's logits on every dev split and every test split it
predicts, saved beside the model.

runs/TASK/RUN/outputs/KEY.{logits,labels,idx}.npy for each split key (`dev`, `dev_matched`,
`test`, `ax_test`, ...). The training stage computes them (pipeline/training/predict.py) while
the model is loaded; the evaluate stage turns them into metrics and server files without
torch. `np.save` writes the same bytes for the same arrays, so an unchanged run leaves DVC's
hashes alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.errors import InputError
from pipeline.glue.tasks import Task, test_targets


@dataclass(frozen=True)
class SplitOutput:
    logits: np.ndarray  # (examples, labels), float32
    labels: np.ndarray  # the split's labels (-1 for test rows)
    idx: np.ndarray  # each example's index in its GLUE file


FIELDS = ("logits", "labels", "idx")


def output_keys(task: Task) -> list[str]:
    """The splits whose logits a run saves: every dev split, and every test split it predicts."""
    return [split.name for split in task.dev_splits] + [key for _, _, key in test_targets(task)]


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
