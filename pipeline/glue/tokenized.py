"""Tokenize normalised splits into an on-disk `datasets.DatasetDict`.

Fast tokenizer, batched, truncated to `max_seq_length`; no padding here: batches are padded
to their own longest example when they are made (dynamic padding).
"""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import InputError
from pipeline.glue.normalized import split_path
from pipeline.glue.tasks import Task, test_targets

TOKENIZE_BATCH = 1000


def read_split_table(path: Path):
    """A split file as an Arrow-backed `datasets.Dataset`, without Python objects per row."""
    import datasets
    from pyarrow import json as pa_json

    if not path.is_file():
        raise InputError(f"{path}: split file not found; run the download stage first")
    return datasets.Dataset(pa_json.read_json(path))


def tokenize_split(dataset, tokenizer, task: Task, max_seq_length: int):
    def encode(batch):
        pair = (batch["text_a"], batch["text_b"]) if task.has_pair else (batch["text_a"],)
        return tokenizer(*pair, truncation=True, max_length=max_seq_length)

    text_columns = [c for c in ("text_a", "text_b") if c in dataset.column_names]
    encoded = dataset.map(encode, batched=True, batch_size=TOKENIZE_BATCH, remove_columns=text_columns)
    return encoded.rename_column("label", "labels")


def tokenize_task(glue_root: Path, tokenizer, task: Task, max_seq_length: int):
    """Every split of `task`, and the test splits of tasks predicted with it (AX for MNLI)."""
    import datasets

    sources = [(task, split, split.name) for split in task.splits if not split.is_test] + test_targets(task)
    return datasets.DatasetDict(
        {
            key: tokenize_split(read_split_table(split_path(glue_root / source.name, split.name)), tokenizer, source,
                                max_seq_length)
            for source, split, key in sources
        }
    )
