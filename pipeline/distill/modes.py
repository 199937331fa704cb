"""Model states a step sets for a while and then restores: train or eval mode, and the
attention kernel (LGTM's and MetaDistil's teacher gradients use both)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def train_modes(teacher, teacher_training: bool, student, student_training: bool) -> Iterator[None]:
    """Both models in the given modes (True: train) inside the block, as they were after it."""
    saved = (teacher.training, student.training)
    teacher.train(teacher_training)
    student.train(student_training)
    try:
        yield
    finally:
        teacher.train(saved[0])
        student.train(saved[1])


@contextmanager
def eager_attention(model) -> Iterator[None]:
    """Eager attention inside the block: the CPU SDPA kernel has no forward derivative (for
    forward-mode AD) and the fused ones no double backward."""
    saved = model.config._attn_implementation
    model.set_attn_implementation("eager")
    try:
        yield
    finally:
        model.set_attn_implementation(saved)
