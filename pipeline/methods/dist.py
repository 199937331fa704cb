"""DIST (Huang et al. 2022, "Knowledge Distillation from A Stronger Teacher"): the student
matches the teacher's predictions up to a linear relation, by Pearson correlation, not KL. It
distils from a frozen teacher fine-tuned alone (eval mode, no gradient); only the student trains.

With p = softmax(z/τ) per example (rows: examples, columns: classes) and ρ(a, b) = the Pearson
correlation ⟨a − ā, b − b̄⟩ / (‖a − ā‖ ‖b − b̄‖ + 1e-8),

    inter = 1 − mean over examples of ρ(p_S[i, :], p_T[i, :])   (each example, over classes)
    intra = 1 − mean over classes of ρ(p_S[:, c], p_T[:, c])    (each class, over the batch)
    L = w_ce · CE(S, y) + w_kd · (β · τ² · inter + γ · τ² · intra)

as the reference computes it: hunto/image_classification_sota (DIST_KD's `classification`
submodule), lib/models/losses/dist_kd.py (`DIST.forward`, the τ² factors included) combined by
lib/models/losses/kd_loss.py `KDLoss.__call__` (`ori_loss * ori_loss_weight + kd_loss *
kd_loss_weight`, the teacher under no_grad in eval mode). reference/dist.py re-implements both;
the loss is in pipeline/distill/correlation.py.
The whole loss is computed in float32 at least (the reference's runs under fp16 autocast).

Two classes (SST-2, MRPC, QQP, QNLI, RTE): each example's two probabilities centred are (u, −u),
so its per-example correlation is sign(u_S · u_T) up to the 1e-8: the inter-class term is
constant but where a model's prediction is near 0.5, and carries (almost) no gradient. The
intra-class term (over the batch) is unaffected. Implemented as defined: on those tasks DIST is
the intra-class term plus CE.

Across processes the intra-class term is over each process's share of the batch, as in the
reference's distributed training (its loss is computed per GPU); with one example the batch
correlation is 0/(0 + 1e-8) = 0, a constant.

Regression (STS-B, one output): a softmax over one output is constant and both correlations are
undefined. The step replaces DIST's term by losses.py's soft-target term there:
L = w_ce · MSE(S, y) + w_kd · MSE(S, T); β, γ and τ are unused.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from pydantic import Field

from pipeline.methods.base import Method, MethodInfo
from pipeline.settings.section import Section

if TYPE_CHECKING:
    from pipeline.distill.context import StepContext



class DistSettings(Section):
    """DIST: w_ce · CE + w_kd · (β · τ² · inter + γ · τ² · intra)."""

    ce_weight: float = Field(ge=0.0, description="weight of the CE on the labels (the reference's ori_loss_weight)")
    kd_weight: float = Field(ge=0.0, description="weight of the DIST term (the reference's kd_loss_weight)")
    beta: float = Field(ge=0.0, description="inter-class relation: 1 - Pearson over the classes, per example")
    gamma: float = Field(ge=0.0, description="intra-class relation: 1 - Pearson over the batch, per class")
    temperature: float = Field(gt=0.0)


class Dist(Method):
    info = MethodInfo("dist", "DIST", row=50, settings=DistSettings, teacher="finetuned")

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        from pipeline.distill.context import student_step
        from pipeline.distill.correlation import dist_loss

        s = ctx.settings
        loss_of = partial(dist_loss, ce_weight=s.ce_weight, kd_weight=s.kd_weight, beta=s.beta, gamma=s.gamma,
                          temperature=s.temperature)
        return {"student_loss": student_step(ctx, batch, loss_of)}
