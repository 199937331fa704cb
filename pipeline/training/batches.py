"""Data loaders over tokenized splits, padded per batch (dynamic padding), and the endless,
resumable stream of batches the training loop draws from."""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader

# Columns a model forward or a loss reads, and `idx`, which names the examples of per-sample
# rows (LGTM's influence); the rest stay in the dataset.
BATCH_COLUMNS = ["input_ids", "attention_mask", "token_type_ids", "labels", "idx"]


def loader(dataset, tokenizer, batch_size: int, *, shuffle: bool) -> DataLoader:
    """Batches of `dataset`, read from its memory-mapped Arrow table as they are needed.

    Shuffled loaders get their seeded order from Accelerate's seedable sampler when prepared
    (pipeline/training/loop.py). Each loader has a generator of its own: a DataLoader without one
    draws a seed from the global RNG whenever it starts a pass, which would shift the dropout
    masks of everything after it, and a resumed run would no longer replay.
    """
    from transformers import DataCollatorWithPadding

    columns = [c for c in BATCH_COLUMNS if c in dataset.column_names]
    return DataLoader(
        dataset.select_columns(columns),
        batch_size=batch_size,
        shuffle=shuffle,
        generator=torch.Generator(),
        collate_fn=DataCollatorWithPadding(tokenizer, return_tensors="pt"),
    )


class BatchStream:
    """Batches forever, one pass per epoch, each epoch in the order its (seed, epoch) gives;
    it knows where it is, and can start from there."""

    def __init__(self, data_loader, accelerator, position: tuple[int, int] = (0, 0)):
        self.loader, self.accelerator = data_loader, accelerator
        self.epoch, self.consumed = position
        self._batches = None

    @property
    def position(self) -> tuple[int, int]:
        """(epoch, batches of it already drawn)."""
        return self.epoch, self.consumed

    def __next__(self) -> dict:
        while True:
            if self._batches is None:
                self.loader.set_epoch(self.epoch)
                # Skipping happens in the batch sampler: the skipped batches are never collated.
                source = self.accelerator.skip_first_batches(self.loader, self.consumed) if self.consumed else self.loader
                self._batches = iter(source)
            try:
                batch = next(self._batches)
            except StopIteration:
                self.epoch, self.consumed, self._batches = self.epoch + 1, 0, None
                continue
            self.consumed += 1
            return batch


def held_out_split(train, fraction: float, seed: int):
    """(train without the slice, the slice): a seeded random `fraction` of train held out."""
    parts = train.train_test_split(test_size=fraction, seed=seed, shuffle=True)
    return parts["train"], parts["test"]
