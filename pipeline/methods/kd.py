"""KD: the student distils from a frozen teacher already fine-tuned on the task."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from pipeline.methods.base import Method, MethodInfo
from pipeline.settings.section import Section

if TYPE_CHECKING:
    from pipeline.distill.context import StepContext


class KdSettings(Section):
    alpha_kd: float = Field(ge=0.0, le=1.0, description="student: weight of KL(teacher || student) against CE")
    temperature: float = Field(gt=0.0)


class Kd(Method):
    info = MethodInfo("kd", "KD", row=20, settings=KdSettings, teacher="finetuned")

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        from pipeline.distill.context import distill_student

        s = ctx.settings
        return {"student_loss": distill_student(ctx, batch, alpha_kd=s.alpha_kd, temperature=s.temperature)}
