"""What a method's step may touch (`StepContext`), and the student step the methods that
distil from logits alone share.

The methods themselves, their settings and their step classes, are in pipeline/methods/; the
training loop (pipeline/training/loop.py) is the same for all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch

from pipeline.distill.losses import student_loss
from pipeline.optim import minimize
from pipeline.settings.section import Section

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def model_inputs(batch: dict) -> dict:
    """The forward arguments of a batch: everything but the labels and bookkeeping."""
    return {key: value for key, value in batch.items() if key in MODEL_INPUTS}


# Averages a step's gradients across processes (StepContext.reduce_mean in training); the
# step's math functions take it so that their tests can run them without an accelerator.
Reduce = Callable[[list[torch.Tensor]], list[torch.Tensor]]


def no_reduction(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    return tensors


@dataclass
class StepContext:
    """What a step may touch. `teacher` is None for methods without one, its optimizer and
    schedule None for methods that do not train it; `settings` is the method's own section;
    `total_steps` the run's length (the student's scheduler counts the steps taken)."""

    student: torch.nn.Module
    student_optimizer: torch.optim.Optimizer
    student_scheduler: Any
    teacher: torch.nn.Module | None
    teacher_optimizer: torch.optim.Optimizer | None
    teacher_scheduler: Any
    accelerator: Any
    settings: Section
    total_steps: int = 0
    # A list on the steps the loop logs per-sample rows (Method.samples_every), None otherwise:
    # a step that exports them appends its batch's columns ({column: values}) to it.
    samples: list[dict[str, list]] | None = None

    def reduce_mean(self, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
        """The tensors averaged across the launch's processes (the tensors themselves in one):
        for gradients a step takes with `autograd.grad`, which DDP's all-reduce never sees."""
        if self.accelerator.num_processes == 1:
            return tensors
        return [self.accelerator.reduce(t, "mean") for t in tensors]


def student_step(ctx: StepContext, batch: dict, loss_of: Callable[..., torch.Tensor]) -> float:
    """One student step on `loss_of(student_logits, teacher_logits, labels)`, the teacher's
    logits from a no-grad forward in eval mode: the student step of every method that distils
    from logits alone (KD's loss, SKD's, DIST's...)."""
    inputs = model_inputs(batch)
    ctx.teacher.eval()
    ctx.student.train()
    with torch.no_grad(), ctx.accelerator.autocast():
        teacher_logits = ctx.teacher(**inputs).logits
    loss = loss_of(ctx.student(**inputs).logits, teacher_logits, batch["labels"])
    minimize(loss, ctx.accelerator, ctx.student_optimizer, ctx.student_scheduler)
    return loss.item()


def distill_student(ctx: StepContext, batch: dict, *, alpha_kd: float, temperature: float) -> float:
    """Step 6 of every distillation method: KD from the (current) teacher, in eval mode."""
    return student_step(ctx, batch, partial(student_loss, alpha_kd=alpha_kd, temperature=temperature))
