"""TAKD (Mirzadeh et al. 2020, "Improved Knowledge Distillation via Teacher Assistant"): KD in
two hops. An assistant of intermediate size distils from the teacher fine-tuned alone (the
`assistant` stage, run `takd-assistant`); then the student distils from the assistant.

Both hops are this step: the project's KD loss, α · KL_τ(T ‖ S) + (1 − α) · CE, with TAKD's own
α and τ (`takd` section). The reference (imirzadeh/Teacher-Assistant-Knowledge-Distillation,
train.py, `TrainManager.train`) is for CIFAR CNNs trained from scratch, and writes its KD term
as (1 − λ) · CE + λ · T² · KLDivLoss(log_softmax(s/T), softmax(t/T)) with KLDivLoss's default
element-wise mean (divided by the number of classes as well as the batch); here the term is
the batch mean of the per-example KL, as in every KD of the project, and without T², which the
LGTM authors' KD leaves out too. The assistant starts from the pre-trained teacher's first
`assistant_layers` layers (BERT students are made so: a 6-layer BERT from BERT-base's first
six), where the reference trains each network from random weights.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from pipeline.methods.base import Method, MethodInfo
from pipeline.methods.kd import KdSettings

if TYPE_CHECKING:
    from pipeline.distill.context import StepContext



class TakdSettings(KdSettings):
    """KD twice: teacher → assistant, then assistant → student, with the same α and τ."""

    assistant_layers: int | None = Field(ge=1, description="the assistant's depth: the pre-trained teacher's first "
                                                           "N layers; null: halfway, ceil((teacher + student) / 2)")


class Takd(Method):
    info = MethodInfo("takd", "TAKD", row=60, settings=TakdSettings, teacher="assistant")

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        from pipeline.distill.context import distill_student

        s = ctx.settings
        return {"student_loss": distill_student(ctx, batch, alpha_kd=s.alpha_kd, temperature=s.temperature)}


def assistant_layers(setting: int | None, teacher_layers: int, student_layers: int) -> int:
    """The assistant's depth: the setting, or halfway between teacher and student, rounded up
    (12 and 6 give 9; the demo's 2 and 1 give 2, the teacher's own depth)."""
    if setting is not None:
        return setting
    return -(-(teacher_layers + student_layers) // 2)
