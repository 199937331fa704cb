"""SKD (spherical knowledge distillation, Guo et al. 2020): KD between logits projected onto a
sphere. The student distils from a frozen teacher fine-tuned alone; only the student trains.

Both models' logits are layer-normalised over the classes (centred, divided by the square root of
their biased variance plus ε = 1e-7, no affine) and multiplied by a fixed radius m:
ẑ = m · (z − mean z) / √(var z + ε). Then, with the teacher in eval mode and its logits detached,

    L = α · τ² · KL_τ(T̂ ‖ Ŝ) + (1 − α) · CE(Ŝ, y)

(the cross-entropy on the student's *normalised* logits too). This is PaddleClas's `SKDLoss`
(ppcls/loss/skdloss.py, `forward`), which follows forjiuzhou/Spherical-Knowledge-Distillation's
README; reference/skd.py re-implements it; the loss is in pipeline/distill/spherical.py.
PaddleClas writes the soft term as the cross-entropy
−Σ p_T log p_S; the KL here differs from it by the teacher's entropy, a constant: the same
gradient, a logged value 0 when the student matches. The student's predictions are its raw
logits, whose arg max is the normalised logits' (a positive scale and a shift per example).

Not followed: the active branch of the authors' skd_main.py `train_kd` (lines 460-465), which
rescales the student's logits to the teacher's standard deviation instead (neither centred nor
multiplied) and divides its KL sum by the batch size twice; its README and commented-out code
describe the loss above.

Two classes (SST-2, MRPC, QQP, QNLI, RTE): the layer norm of two logits is ±m · |d| / √(d² + ε)
with d half their difference, so both terms see the sign of d and almost nothing else: the
gradient through the normalisation is ε / (d² + ε)^{3/2}, about 1e-7 once the logits differ by
O(1), large only where they nearly tie (|d| ≲ √ε ≈ 3e-4). Implemented as defined; on those
tasks SKD is expected to move the student little, what it moves coming from near-tied examples
(and AdamW's scaling of small gradients).

Regression (STS-B, one output): the layer norm of one logit is 0, constant, so SKD is undefined
there. The step falls back to the project's KD: α · MSE(S, T) + (1 − α) · MSE(S, y) (losses.py);
the multiplier and the temperature are unused.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from pydantic import Field

from pipeline.methods.base import Method, MethodInfo
from pipeline.methods.kd import KdSettings

if TYPE_CHECKING:
    from pipeline.distill.context import StepContext



class SkdSettings(KdSettings):
    """SKD: KD and CE on layer-normalised logits times a multiplier."""

    multiplier: float = Field(gt=0.0, description="radius of the sphere the layer-normalised logits are scaled to")


class Skd(Method):
    info = MethodInfo("skd", "SKD", row=40, settings=SkdSettings, teacher="finetuned",
                      constant_on_two_classes="its normalised logits keep only their sign, so its loss gives the "
                                              "student almost no gradient but on near-tied rows")

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        from pipeline.distill.context import student_step
        from pipeline.distill.spherical import skd_loss

        s = ctx.settings
        loss_of = partial(skd_loss, alpha_kd=s.alpha_kd, temperature=s.temperature, multiplier=s.multiplier)
        return {"student_loss": student_step(ctx, batch, loss_of)}
