"""Any checkpoint applied to a task's test files (`python -m stages predict --model DIR`)."""

from __future__ import annotations

from pathlib import Path

from pipeline.glue.normalized import split_path
from pipeline.glue.tasks import Task, test_targets
from pipeline.glue.tokenized import read_split_table, tokenize_split
from pipeline.reporting.evaluation import server_files
from pipeline.training.predict import split_outputs


def predict_test_files(model, tokenizer, glue_data: Path, task: Task, *, max_seq_length: int,
                       batch_size: int) -> dict[str, list[str]]:
    """{server file name: rows} for the test splits a model of `task` predicts (MNLI: also AX).

    The test files are tokenized here with the checkpoint's own tokenizer, so that any
    checkpoint can be predicted, not only the pipeline's. Accelerate puts the model where the
    machine (or `accelerate launch`) says, as in training.
    """
    from accelerate import Accelerator

    accelerator = Accelerator()
    model = accelerator.prepare_model(model, evaluation_mode=True)
    splits = {}
    for target, split, key in test_targets(task):
        table = read_split_table(split_path(glue_data / target.name, split.name))
        splits[key] = tokenize_split(table, tokenizer, target, max_seq_length)
    return server_files(task, split_outputs(model, splits, tokenizer, batch_size, accelerator))
