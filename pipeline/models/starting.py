"""The starting teacher and student of every task, sharing one tokenizer.

Distillation feeds the same token ids to both models, so their vocabularies must match: a
tiny model takes the vocabulary of the checkpoint beside it, or, when both are tiny, one
trained on the training text of every downloaded task. Tiny models are then pre-trained on
that text as masked language models (pipeline/models/pretraining.py), once, as a hub
checkpoint was: every task starts from the same encoder, under a head of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING

from pipeline.errors import InputError
from pipeline.glue.tasks import Task
from pipeline.models.loading import load_checkpoint, same_vocabulary
from pipeline.models.pretraining import pretrain_masked_lm
from pipeline.models.tiny import build_tiny_model, train_wordpiece_tokenizer
from pipeline.parallel import run_jobs

if TYPE_CHECKING:
    from pipeline.settings.params import ModelParams

Pair = tuple[str, str | None]


def starting_models(
    models: ModelParams,
    *,
    tasks: list[Task],
    train_examples: Callable[[], Iterable[Pair]],
    max_seq_length: int,
    seed: int,
    timeout_s: float,
    workers: int = 1,
) -> Iterator[tuple[Task, object, object, object]]:
    """(task, teacher, student, tokenizer) of each task, before any fine-tuning.

    A checkpoint is loaded for each task with the task's label head. Tiny models are built once
    per role, with one vocabulary and one masked-LM pre-training on `train_examples` (the
    training text of every downloaded task), as a hub checkpoint is one model for all tasks;
    each task then gets a copy of the pre-trained encoder under a classification head of its own.
    """
    if not models.teacher.is_tiny and not models.student.is_tiny:
        for task in tasks:
            (teacher, tokenizer), (student, student_tokenizer) = (
                load_checkpoint(spec, task=task, timeout_s=timeout_s) for spec in (models.teacher, models.student))
            _check_one_vocabulary(models, tokenizer, student_tokenizer)
            yield task, teacher, student, tokenizer
        return
    # Read once, for the vocabulary and both tiny models' pre-training.
    examples = list(train_examples())
    loaded = {role: load_checkpoint(spec, task=tasks[0], timeout_s=timeout_s)
              for role, spec in (("teacher", models.teacher), ("student", models.student)) if not spec.is_tiny}
    if loaded:
        tokenizer = next(iter(loaded.values()))[1]
    else:
        tokenizer = train_wordpiece_tokenizer((text for pair in examples for text in pair if text), models.tiny_vocab_size)
    # Different seeds, so that a tiny teacher and student of one shape do not start equal.
    seeds = {"teacher": seed, "student": seed + 1}
    tiny = [(role, spec) for role, spec in (("teacher", models.teacher), ("student", models.student)) if spec.is_tiny]
    # The two pre-trainings are independent: side by side, a process each (one thread per process).
    jobs = [partial(_pretrained_encoder, spec, tokenizer, examples, models.tiny_pretraining, task=tasks[0],
                    max_seq_length=max_seq_length, seed=seeds[role]) for role, spec in tiny]
    encoders = dict(zip((role for role, _ in tiny), run_jobs(jobs, workers)))
    for task in tasks:
        built = {}
        for role, spec in (("teacher", models.teacher), ("student", models.student)):
            if spec.is_tiny:
                built[role] = build_tiny_model(spec, vocab_size=len(tokenizer), task=task, seed=seeds[role])
                built[role].base_model.load_state_dict(encoders[role])
            else:
                built[role] = loaded[role][0] if task is tasks[0] else load_checkpoint(spec, task=task,
                                                                                       timeout_s=timeout_s)[0]
        yield task, built["teacher"], built["student"], tokenizer


def _pretrained_encoder(spec, tokenizer, examples: list[Pair], pretraining, *, task: Task, max_seq_length: int,
                        seed: int) -> dict:
    """The encoder weights of a tiny model of `spec`, after its masked-LM pre-training."""
    encoder = build_tiny_model(spec, vocab_size=len(tokenizer), task=task, seed=seed)
    if pretraining.steps > 0:
        pretrain_masked_lm(encoder, tokenizer, examples, steps=pretraining.steps, batch_size=pretraining.batch_size,
                           learning_rate=pretraining.learning_rate, max_length=max_seq_length, seed=seed)
    return encoder.base_model.state_dict()


def _check_one_vocabulary(models: ModelParams, teacher_tokenizer, student_tokenizer) -> None:
    if not same_vocabulary(teacher_tokenizer, student_tokenizer):
        raise InputError(
            f"model.teacher ({models.teacher.name}) and model.student ({models.student.name}) have different "
            "vocabularies; distillation needs one tokenizer for both"
        )
