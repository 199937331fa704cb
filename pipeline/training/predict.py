"""A model's logits on whole splits: the kept student's on every dev and test split at the end
of a run (pipeline/training/loop.py), any checkpoint's on a task's test files
(pipeline/training/server_predictions.py)."""

from __future__ import annotations

import numpy as np
import torch

from pipeline.distill.context import model_inputs
from pipeline.results.outputs import SplitOutput
from pipeline.training.batches import loader


def predict_logits(model, data_loader, accelerator) -> tuple[np.ndarray, np.ndarray]:
    """(logits, labels) of a whole split, gathered from every process in the loader's order."""
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


def split_outputs(model, splits: dict, tokenizer, batch_size: int, accelerator) -> dict[str, SplitOutput]:
    """{key: the model's logits, labels and example indices} for each tokenized split."""
    outputs = {}
    for key, dataset in splits.items():
        data_loader = accelerator.prepare(loader(dataset, tokenizer, batch_size, shuffle=False))
        logits, labels = predict_logits(model, data_loader, accelerator)
        outputs[key] = SplitOutput(logits, labels, np.asarray(dataset["idx"]))
    return outputs
