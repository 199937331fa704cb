"""The student's trainable parameters as LGTM's steps 1 to 4 use them, without copying the
vocabulary.

Those steps run the student functionally (`torch.func.functional_call`) on the training batch
B and the held-out batch H only, so of the word-embedding matrix (30522 x d for BERT: three
quarters of a 6-layer student) they read just the rows of the tokens in B and H. The view
keeps those rows alone and renumbers the token ids to index them; the virtual step, the
held-out gradient and the perturbed students then touch a few thousand rows instead of the
vocabulary, with the same values row for row. Gradients for the real optimizer are scattered
back to full size.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.func import functional_call

from pipeline.distill.context import model_inputs


class StudentView:
    def __init__(self, student, batches: list[dict], union_rows: Callable[[torch.Tensor], torch.Tensor]):
        self.student = student
        named = [(n, p) for n, p in student.named_parameters() if p.requires_grad]
        self.names = [n for n, _ in named]
        self.params = [p for _, p in named]
        self.embedding_index: int | None = None
        self.rows: torch.Tensor | None = None
        embedding = student.get_input_embeddings()
        if isinstance(embedding, torch.nn.Embedding) and embedding.weight.requires_grad:
            self.embedding_index = next(i for i, p in enumerate(self.params) if p is embedding.weight)
            used = torch.cat([batch["input_ids"].flatten() for batch in batches]).unique()
            self.rows = union_rows(used)  # sorted; the same on every process

    def values(self) -> list[torch.Tensor]:
        """The parameters' current values (detached), the embedding reduced to its rows."""
        values = [p.detach() for p in self.params]
        if self.rows is not None:
            values[self.embedding_index] = values[self.embedding_index][self.rows]
        return values

    def row_indices(self) -> dict[int, torch.Tensor]:
        """{parameter index: rows} for the virtual step's view of the optimizer state."""
        return {} if self.rows is None else {self.embedding_index: self.rows}

    def logits(self, values: list[torch.Tensor], batch: dict) -> torch.Tensor:
        """The student's logits on `batch` with its parameters set to `values` (as `values()`)."""
        inputs = model_inputs(batch)
        if self.rows is None:
            return functional_call(self.student, dict(zip(self.names, values)), (), inputs).logits
        inputs["input_ids"] = torch.searchsorted(self.rows, inputs["input_ids"])
        # nn.Embedding gives its padding row no gradient; in the kept rows that row has moved.
        embedding = self.student.get_input_embeddings()
        saved = embedding.padding_idx
        where = (self.rows == saved).nonzero() if saved is not None else []
        embedding.padding_idx = int(where[0]) if len(where) else None
        try:
            return functional_call(self.student, dict(zip(self.names, values)), (), inputs).logits
        finally:
            embedding.padding_idx = saved

    def full_gradients(self, grads: list[torch.Tensor]) -> list[torch.Tensor]:
        """Gradients shaped like the parameters: the embedding's rows scattered into zeros."""
        if self.rows is None:
            return grads
        full = list(grads)
        embedding = self.params[self.embedding_index]
        full[self.embedding_index] = torch.zeros_like(embedding).index_copy_(0, self.rows, grads[self.embedding_index])
        return full
