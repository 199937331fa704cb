"""KD: the student distils from a frozen teacher already fine-tuned on the task."""

from __future__ import annotations

from pipeline.distill.base import Method, StepContext, distill_student


class Kd(Method):
    name = "kd"

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        return {"student_loss": distill_student(ctx, batch)}
