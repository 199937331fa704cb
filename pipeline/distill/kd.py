"""KD: the student distils from a frozen teacher already fine-tuned on the task."""

from __future__ import annotations

from pipeline.distill.base import Method, StepContext, distill_student
from pipeline.settings.methods import METHODS


class Kd(Method):
    info = METHODS["kd"]

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        s = ctx.settings
        return {"student_loss": distill_student(ctx, batch, alpha_kd=s.alpha_kd, temperature=s.temperature)}
