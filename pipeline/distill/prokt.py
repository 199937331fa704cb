"""ProKT: each step the teacher first moves toward the student's current predictions
(one step on L_t, student logits from a no-grad forward in eval mode), then KD."""

from __future__ import annotations

import torch

from pipeline.distill.base import Method, StepContext, distill_student, model_inputs
from pipeline.distill.losses import teacher_loss
from pipeline.optim import minimize
from pipeline.settings.methods import METHODS


class Prokt(Method):
    info = METHODS["prokt"]

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        s = ctx.settings
        inputs = model_inputs(batch)
        ctx.student.eval()
        with torch.no_grad():
            student_logits = ctx.student(**inputs).logits
        ctx.teacher.train()
        loss_t = teacher_loss(ctx.teacher(**inputs).logits, student_logits, batch["labels"],
                              t_alpha_kd=s.t_alpha_kd, temperature=s.temperature)
        minimize(loss_t, ctx.accelerator, ctx.teacher_optimizer, ctx.teacher_scheduler)
        student_loss = distill_student(ctx, batch, alpha_kd=s.alpha_kd, temperature=s.temperature)
        return {"teacher_loss": loss_t.item(), "student_loss": student_loss}
