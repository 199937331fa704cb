"""A yardstick for DIST (pipeline/methods/dist.py), written for this project: the loss of one
DIST training step, spelled out slowly from the paper, with the choices its authors' code makes
reproduced as facts. The method is tested against it in float64; it is never the method.

The paper (Huang et al. 2022, "Knowledge Distillation from A Stronger Teacher", Sec. 3,
"relaxed match with relations" and "better distillation with intra-relations"): with P the
batch's predicted probabilities (rows: examples, columns: classes) and d(u, v) = 1 − ρ(u, v),
ρ the Pearson correlation,

    inter = mean over examples i of d(P_S[i, :], P_T[i, :])
    intra = mean over classes c  of d(P_S[:, c], P_T[:, c])
    L     = w_ce · CE(S, y) + w_kd · (β · inter + γ · intra)

Behaviours of the authors' code reproduced here (hunto/image_classification_sota, the
`classification` submodule of hunto/DIST_KD, commit d9662f7df68fe46b973c4580b7c9b896cedcd301):
- The correlation's denominator is the product of the two centred vectors' Euclidean norms plus
  1e-8 (lib/models/losses/dist_kd.py, lines 4-10).
- Probabilities are softmax(z / τ), and each relation is multiplied by τ² before β and γ weigh
  them (dist_kd.py, lines 28-34).
- The `--kd` flag chooses the relation weights and τ: 'dist' is β = γ = τ = 1, 'dist_t<x>' is
  β = γ = 1 and τ = x (lib/models/losses/kd_loss.py, lines 29-33).
- The teacher's logits come from a forward under no_grad, the teacher put in eval mode once when
  the loss is built (kd_loss.py, lines 44 and 47-48); the loss is the task loss times
  `ori_loss_weight` plus the DIST term times `kd_loss_weight` (kd_loss.py, line 57). The hooks
  there take each model's whole output (module name '', lines 59-62), so the logits.
- The task loss is a plain mean cross-entropy when `smoothing` is 0 (tools/train.py, lines
  60-61), as both DIST configurations set it (configs/strategies/distill/dist_cifar.yaml and
  resnet_dist.yaml, line 15; both weigh the task loss 1 and the DIST term 2). A training step
  is then backward and the optimizer's step (tools/train.py, lines 267-293).

Departures, none in the loss: the caller puts the teacher in eval mode and passes it as a
function returning logits (no hooks); no autocast (the tests run in float64).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

CORRELATION_GUARD = 1e-8  # added to the product of the norms in the authors' code


def pearson(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """ρ(u, v) for two 1-D tensors, with the authors' guard in the denominator."""
    u_centred = u - u.sum() / u.numel()
    v_centred = v - v.sum() / v.numel()
    covariance_sum = (u_centred * v_centred).sum()
    spread = torch.sqrt((u_centred**2).sum()) * torch.sqrt((v_centred**2).sum())
    return covariance_sum / (spread + CORRELATION_GUARD)


def mean_distance(student_vectors: torch.Tensor, teacher_vectors: torch.Tensor) -> torch.Tensor:
    """The mean of 1 − ρ over paired rows, one row pair at a time."""
    distances = [1 - pearson(s, t) for s, t in zip(student_vectors, teacher_vectors)]
    return torch.stack(distances).mean()


def relations(student_logits: torch.Tensor, teacher_logits: torch.Tensor, tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(inter, intra), each already multiplied by τ² as the authors' code does."""
    student_probs = torch.softmax(student_logits / tau, dim=1)
    teacher_probs = torch.softmax(teacher_logits / tau, dim=1)
    per_example = mean_distance(student_probs, teacher_probs)
    per_class = mean_distance(student_probs.T, teacher_probs.T)
    return tau**2 * per_example, tau**2 * per_class


@dataclass(frozen=True)
class DistObjective:
    ce_weight: float = 1.0
    kd_weight: float = 1.0
    beta: float = 1.0
    gamma: float = 1.0
    tau: float = 1.0

    @classmethod
    def from_kd_flag(cls, flag: str, *, ce_weight: float, kd_weight: float) -> "DistObjective":
        """The objective the authors' `--kd` values name: 'dist' or 'dist_t<τ>'."""
        if flag == "dist":
            return cls(ce_weight, kd_weight)
        prefix = "dist_t"
        if not flag.startswith(prefix):
            raise ValueError(f"not a DIST flag: {flag!r}")
        return cls(ce_weight, kd_weight, tau=float(flag[len(prefix):]))

    def kd_term(self, student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
        inter, intra = relations(student_logits, teacher_logits, self.tau)
        return self.beta * inter + self.gamma * intra

    def step_loss(self, student: Callable, teacher: Callable, inputs, labels: torch.Tensor) -> torch.Tensor:
        """The loss one step minimises; `student` and `teacher` map inputs to logits, the
        teacher already in eval mode."""
        with torch.no_grad():
            teacher_logits = teacher(inputs)
        student_logits = student(inputs)
        task = F.cross_entropy(student_logits, labels)
        return task * self.ce_weight + self.kd_term(student_logits, teacher_logits) * self.kd_weight
