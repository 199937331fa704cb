"""ProKT: each step the teacher first moves toward the student's current predictions
(one step on L_t, student logits from a no-grad forward in eval mode), then KD."""

from __future__ import annotations

import torch

from pipeline.distill.base import Method, StepContext, distill_student, model_inputs, optimizer_step
from pipeline.distill.losses import teacher_loss


class Prokt(Method):
    name = "prokt"
    trains_teacher = True

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        inputs = model_inputs(batch)
        ctx.student.eval()
        with torch.no_grad():
            student_logits = ctx.student(**inputs).logits
        ctx.teacher.train()
        loss_t = teacher_loss(
            ctx.teacher(**inputs).logits, student_logits, batch["labels"],
            alpha_kd_t=ctx.settings.t_alpha_kd, temperature=ctx.settings.temperature,
        )
        optimizer_step(loss_t, ctx.accelerator, ctx.teacher_optimizer, ctx.teacher_scheduler)
        return {"teacher_loss": loss_t.item(), "student_loss": distill_student(ctx, batch)}
