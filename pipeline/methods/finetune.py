"""Fine-tuning alone: the student without a teacher (the lower bound of every table), and
the teacher itself (`finetune-teacher`, the table's teacher row and KD's frozen teacher)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeline.methods.base import Method, MethodInfo
from pipeline.settings.section import Section

if TYPE_CHECKING:
    from pipeline.distill.context import StepContext


class FinetuneSettings(Section):
    """The student alone on the labels: nothing to set."""


class Finetune(Method):
    info = MethodInfo("finetune", "Student (fine-tuned)", row=10, settings=FinetuneSettings, teacher="none")

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        from pipeline.distill.context import model_inputs
        from pipeline.distill.losses import task_loss
        from pipeline.optim import minimize

        ctx.student.train()
        loss = task_loss(ctx.student(**model_inputs(batch)).logits, batch["labels"])
        minimize(loss, ctx.accelerator, ctx.student_optimizer, ctx.student_scheduler)
        return {"student_loss": loss.item()}
