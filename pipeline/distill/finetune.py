"""Fine-tuning alone: the student without a teacher (the lower bound of every table), and
the teacher itself (`finetune-teacher`, the table's teacher row and KD's frozen teacher)."""

from __future__ import annotations

from pipeline.distill.base import Method, StepContext, model_inputs
from pipeline.distill.losses import task_loss
from pipeline.optim import minimize
from pipeline.settings.methods import METHODS


class Finetune(Method):
    info = METHODS["finetune"]

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        ctx.student.train()
        loss = task_loss(ctx.student(**model_inputs(batch)).logits, batch["labels"])
        minimize(loss, ctx.accelerator, ctx.student_optimizer, ctx.student_scheduler)
        return {"student_loss": loss.item()}
