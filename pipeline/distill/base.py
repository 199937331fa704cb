"""The interface every training method implements, and the student step they share.

A method is a step function over one batch: the training loop (pipeline/training.py) is the
same for all of them. `METHODS` in pipeline/distill/__init__.py maps names to classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from pipeline.distill.losses import student_loss

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def model_inputs(batch: dict) -> dict:
    """The forward arguments of a batch: everything but the labels and bookkeeping."""
    return {key: value for key, value in batch.items() if key in MODEL_INPUTS}


@dataclass(frozen=True)
class DistillSettings:
    alpha_kd: float
    t_alpha_kd: float
    temperature: float
    radius: float
    lgtm_mode: str = "fast"
    lgtm_influence: str = "finite_difference"


@dataclass
class StepContext:
    """What a step may touch. `teacher` is None for methods without one."""

    student: torch.nn.Module
    student_optimizer: torch.optim.Optimizer
    student_scheduler: Any
    teacher: torch.nn.Module | None
    teacher_optimizer: torch.optim.Optimizer | None
    teacher_scheduler: Any
    accelerator: Any
    settings: DistillSettings


class Method:
    name: ClassVar[str]
    uses_teacher: ClassVar[bool] = True
    trains_teacher: ClassVar[bool] = False
    uses_held_out: ClassVar[bool] = False

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        """One training step; returns the losses to log."""
        raise NotImplementedError


def optimizer_step(loss: torch.Tensor, accelerator, optimizer, scheduler) -> None:
    accelerator.backward(loss)
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)


def distill_student(ctx: StepContext, batch: dict) -> float:
    """Step 6 of every distillation method: KD from the (current) teacher, in eval mode."""
    inputs = model_inputs(batch)
    ctx.teacher.eval()
    ctx.student.train()
    with torch.no_grad(), ctx.accelerator.autocast():
        teacher_logits = ctx.teacher(**inputs).logits
    loss = student_loss(
        ctx.student(**inputs).logits, teacher_logits, batch["labels"],
        alpha_kd=ctx.settings.alpha_kd, temperature=ctx.settings.temperature,
    )
    optimizer_step(loss, ctx.accelerator, ctx.student_optimizer, ctx.student_scheduler)
    return loss.item()
