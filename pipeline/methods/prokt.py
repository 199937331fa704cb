"""ProKT: each step the teacher first moves toward the student's current predictions
(one step on L_t, student logits from a no-grad forward in eval mode), then KD."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from pipeline.methods.base import Method, MethodInfo
from pipeline.methods.kd import KdSettings

if TYPE_CHECKING:
    from pipeline.distill.context import StepContext



class ProktSettings(KdSettings):
    t_alpha_kd: float = Field(ge=0.0, le=1.0, description="teacher: weight of KL(student || teacher) against CE")
    init_classifier_to_zero: bool = Field(description="both classification heads start at zero")


class Prokt(Method):
    info = MethodInfo("prokt", "ProKT", row=90, settings=ProktSettings, teacher="pretrained", trains_teacher=True)

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        import torch

        from pipeline.distill.context import distill_student, model_inputs
        from pipeline.distill.losses import teacher_loss
        from pipeline.optim import minimize

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
