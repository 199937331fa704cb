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
kd_loss_weight`, the teacher under no_grad in eval mode). reference/dist.py re-implements both.
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

import torch

from pipeline.distill.base import Method, StepContext, student_step
from pipeline.distill.losses import at_least_float32, soft_target_loss, task_loss
from pipeline.settings.methods import METHODS

PEARSON_EPS = 1e-8  # the reference's, added to the product of the norms


def pearson_rows(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The Pearson correlation of each row of `a` with the same row of `b`."""
    a = a - a.mean(1, keepdim=True)
    b = b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1) + PEARSON_EPS)


def dist_term(student_logits: torch.Tensor, teacher_logits: torch.Tensor, *, beta: float, gamma: float,
              temperature: float) -> torch.Tensor:
    """β · τ² · inter + γ · τ² · intra on softmax(z/τ), in float32 at least; gradients flow into
    both arguments unless the caller detaches."""
    dtype = torch.promote_types(torch.promote_types(student_logits.dtype, teacher_logits.dtype), torch.float32)
    y_s = (student_logits.to(dtype) / temperature).softmax(dim=1)
    y_t = (teacher_logits.to(dtype) / temperature).softmax(dim=1)
    inter = temperature**2 * (1 - pearson_rows(y_s, y_t).mean())
    intra = temperature**2 * (1 - pearson_rows(y_s.transpose(0, 1), y_t.transpose(0, 1)).mean())
    return beta * inter + gamma * intra


def dist_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor, *, ce_weight: float,
              kd_weight: float, beta: float, gamma: float, temperature: float) -> torch.Tensor:
    """w_ce · CE(S, y) + w_kd · DIST(S, T), the teacher's logits detached (for one output:
    w_ce · MSE(S, y) + w_kd · MSE(S, T))."""
    teacher_logits = teacher_logits.detach()
    student = at_least_float32(student_logits)
    if student.shape[-1] == 1:
        kd = soft_target_loss(teacher_logits, student, temperature)
    else:
        kd = dist_term(student, teacher_logits, beta=beta, gamma=gamma, temperature=temperature)
    return task_loss(student, labels) * ce_weight + kd * kd_weight


class Dist(Method):
    info = METHODS["dist"]

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        s = ctx.settings
        loss_of = partial(dist_loss, ce_weight=s.ce_weight, kd_weight=s.kd_weight, beta=s.beta, gamma=s.gamma,
                          temperature=s.temperature)
        return {"student_loss": student_step(ctx, batch, loss_of)}
