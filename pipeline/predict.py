"""Any checkpoint applied to a task's test files (`python -m stages predict --model DIR`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from pipeline.batches import loader
from pipeline.data.normalized import split_path
from pipeline.distill.base import model_inputs
from pipeline.evaluation import server_files
from pipeline.outputs import SplitOutput
from pipeline.tasks import Task, test_targets
from pipeline.tokenize import read_split_table, tokenize_split


@torch.no_grad()
def logits_of(model, tokenizer, dataset, batch_size: int) -> np.ndarray:
    model.eval()
    batches = loader(dataset, tokenizer, batch_size, shuffle=False)
    return np.concatenate([model(**model_inputs(batch)).logits.float().numpy() for batch in batches])


def predict_test_files(model, tokenizer, glue_data: Path, task: Task, *, max_seq_length: int, batch_size: int) -> dict[str, list[str]]:
    """{server file name: rows} for the test splits a model of `task` predicts (MNLI: also AX).

    The test files are tokenized here with the checkpoint's own tokenizer, so that any
    checkpoint can be predicted, not only the pipeline's.
    """
    outputs = {}
    for target, split, key in test_targets(task):
        table = read_split_table(split_path(glue_data / target.name, split.name))
        encoded = tokenize_split(table, tokenizer, target, max_seq_length)
        logits = logits_of(model, tokenizer, encoded, batch_size)
        outputs[key] = SplitOutput(logits, np.asarray(encoded["labels"]), np.asarray(table["idx"]))
    return server_files(task, outputs)
