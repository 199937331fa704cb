"""Data loaders over tokenized splits, padded per batch (dynamic padding)."""

from __future__ import annotations

from torch.utils.data import DataLoader

# Columns a model forward or a loss reads; `idx` and the rest stay in the dataset.
BATCH_COLUMNS = ["input_ids", "attention_mask", "token_type_ids", "labels"]


def loader(dataset, tokenizer, batch_size: int, *, shuffle: bool) -> DataLoader:
    """Batches of `dataset`. Shuffled loaders get their seeded order from Accelerate's
    seedable sampler when prepared (pipeline/training.py)."""
    from transformers import DataCollatorWithPadding

    columns = [c for c in BATCH_COLUMNS if c in dataset.column_names]
    return DataLoader(
        dataset.select_columns(columns),
        batch_size=batch_size,
        shuffle=shuffle,
        collate_fn=DataCollatorWithPadding(tokenizer, return_tensors="pt"),
    )


def held_out_split(train, fraction: float, seed: int):
    """(train without the slice, the slice): a seeded random `fraction` of train held out."""
    parts = train.train_test_split(test_size=fraction, seed=seed, shuffle=True)
    return parts["train"], parts["test"]
