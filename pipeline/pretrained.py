"""The starting teacher and student of a task, sharing one tokenizer.

Distillation feeds the same token ids to both models, so their vocabularies must match: a
tiny model takes the vocabulary of the checkpoint beside it, or, when both are tiny, one
trained on the task's training text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pipeline.errors import InputError
from pipeline.models import build_tiny_model, load_checkpoint, same_vocabulary, train_wordpiece_tokenizer
from pipeline.params import ModelParams
from pipeline.tasks import Task


def pretrained_pair(
    models: ModelParams, *, task: Task, train_texts: Callable[[], Iterable[str]], seed: int, timeout_s: float
):
    """(teacher, student, tokenizer) before any fine-tuning."""
    loaded = {
        role: load_checkpoint(spec, task=task, timeout_s=timeout_s)
        for role, spec in (("teacher", models.teacher), ("student", models.student))
        if not spec.is_tiny
    }
    if "teacher" in loaded and "student" in loaded and not same_vocabulary(loaded["teacher"][1], loaded["student"][1]):
        raise InputError(
            f"model.teacher ({models.teacher.name}) and model.student ({models.student.name}) have different "
            "vocabularies; distillation needs one tokenizer for both"
        )
    if loaded:
        tokenizer = (loaded.get("teacher") or loaded["student"])[1]
    else:
        tokenizer = train_wordpiece_tokenizer(train_texts(), models.tiny_vocab_size)
    # Different seeds, so that a tiny teacher and student of one shape do not start equal.
    teacher = loaded["teacher"][0] if "teacher" in loaded else build_tiny_model(
        models.teacher, vocab_size=len(tokenizer), task=task, seed=seed
    )
    student = loaded["student"][0] if "student" in loaded else build_tiny_model(
        models.student, vocab_size=len(tokenizer), task=task, seed=seed + 1
    )
    return teacher, student, tokenizer
