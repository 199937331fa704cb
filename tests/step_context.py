"""What the float64 step tests of the frozen-teacher methods share: a student's plain AdamW, the
StepContext a step of theirs gets, and a snapshot of a model's parameters."""

from __future__ import annotations

import torch
from accelerate import Accelerator
from transformers import get_linear_schedule_with_warmup

from pipeline.distill.context import StepContext


def optimizer(model):
    return torch.optim.AdamW(model.parameters(), lr=1e-3, eps=1e-6, weight_decay=0.0)


def frozen_teacher_context(teacher, student, settings, total_steps: int = 10) -> StepContext:
    """Only the student trains: its AdamW on a linear schedule over `total_steps`."""
    opt = optimizer(student)
    return StepContext(student, opt, get_linear_schedule_with_warmup(opt, 0, total_steps), teacher, None, None,
                       Accelerator(cpu=True), settings, total_steps)


def params(model):
    return [p.detach().clone() for p in model.parameters()]
