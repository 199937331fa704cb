"""RCO (Jin et al. 2019, "Knowledge Distillation via Route Constrained Optimization"): the
student distils from the teacher's route instead of its end point: checkpoints ("anchors")
saved at equal intervals of the teacher's own fine-tuning, the last its final state, one after
another, each for an equal share of the student's steps.

The equal-interval strategy of the reference (SforAiDl/KD_Lib, KD_Lib/KD/vision/RCO/rco.py,
`RCO.train_teacher` keeps the teacher every `epoch_interval` epochs and at the end;
`RCO.train_student` moves to the next anchor every `epoch_interval` epochs), counted here in
steps: `rco.anchors` anchors, the k-th saved at step ⌈k · T / K⌉ of the teacher's T steps
(pipeline/training/loop.py, `anchor_steps`), the student on anchor k for its steps
((k − 1) · S / K, k · S / K]. Each step is the project's KD step (α · KL_τ + (1 − α) · CE,
the frozen anchor in eval mode); the reference's loss is KD_Lib's `calculate_kd_loss` of the
user's choice. The anchors are the teacher fine-tuned alone by `finetune-teacher`, which saves
them when `methods.anchors` lists a method; the kept teacher of KD is that run's best
checkpoint, RCO's last anchor its final state, as in the reference.
"""


from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from pydantic import Field

from pipeline.methods.base import Method, MethodInfo
from pipeline.methods.kd import KdSettings

if TYPE_CHECKING:
    from pipeline.distill.context import StepContext



class RcoSettings(KdSettings):
    anchors: int = Field(ge=1, description="teacher checkpoints saved at equal intervals of its fine-tuning, the "
                                           "last its final state; the student distils from each for an equal share "
                                           "of its steps, in order")


class Rco(Method):
    info = MethodInfo("rco", "RCO", row=70, settings=RcoSettings, teacher="anchors")

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        from pipeline.distill.context import distill_student

        s = ctx.settings
        # The teacher is an AnchorRoute (pipeline/distill/anchors.py). The student's scheduler
        # counts the steps taken, and is restored with a checkpoint.
        anchor = ctx.teacher.anchor_at(ctx.student_scheduler.last_epoch, ctx.total_steps)
        anchor_ctx = dataclasses.replace(ctx, teacher=anchor)
        return {"student_loss": distill_student(anchor_ctx, batch, alpha_kd=s.alpha_kd, temperature=s.temperature)}
