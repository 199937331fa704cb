"""The starting teacher and student of a task, sharing one tokenizer.

Distillation feeds the same token ids to both models, so their vocabularies must match: a
tiny model takes the vocabulary of the checkpoint beside it, or, when both are tiny, one
trained on the task's training text. Tiny models are then pre-trained on that text as a
masked language model (pipeline/models/pretraining.py), as a hub checkpoint would have been.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from pipeline.errors import InputError
from pipeline.glue.tasks import Task
from pipeline.models.loading import load_checkpoint, same_vocabulary
from pipeline.models.pretraining import pretrain_masked_lm
from pipeline.models.tiny import build_tiny_model, train_wordpiece_tokenizer

if TYPE_CHECKING:
    from pipeline.settings.params import ModelParams

Pair = tuple[str, str | None]


def starting_models(
    models: ModelParams,
    *,
    task: Task,
    train_examples: Callable[[], Iterable[Pair]],
    max_seq_length: int,
    seed: int,
    timeout_s: float,
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
    # Read once, for the vocabulary and both models' pre-training; only tiny models need it.
    examples = list(train_examples()) if len(loaded) < 2 else []
    if loaded:
        tokenizer = (loaded.get("teacher") or loaded["student"])[1]
    else:
        tokenizer = train_wordpiece_tokenizer((text for pair in examples for text in pair if text), models.tiny_vocab_size)
    built = {}
    # Different seeds, so that a tiny teacher and student of one shape do not start equal.
    for role, spec, role_seed in (("teacher", models.teacher, seed), ("student", models.student, seed + 1)):
        if role in loaded:
            built[role] = loaded[role][0]
            continue
        model = build_tiny_model(spec, vocab_size=len(tokenizer), task=task, seed=role_seed)
        mlm = models.tiny_pretraining
        if mlm.steps > 0:
            pretrain_masked_lm(model, tokenizer, examples, steps=mlm.steps, batch_size=mlm.batch_size,
                               learning_rate=mlm.learning_rate, max_length=max_seq_length, seed=role_seed)
        built[role] = model
    return built["teacher"], built["student"], tokenizer
