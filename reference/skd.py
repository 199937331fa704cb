"""A yardstick for SKD (pipeline/methods/skd.py), written for this project: the loss of one
spherical-KD training step, spelled out from the paper, with the choices of PaddleClas's
implementation reproduced as facts. The method is tested against it in float64; it is never
the method. The step is a plain optimizer step on this loss, the teacher frozen.

The paper (Guo et al. 2020, "Reducing the Teacher-Student Gap via Spherical Knowledge
Distillation", arXiv 2010.07485, Sec. 3): before distilling, each model's logits are projected
onto a sphere of fixed radius m, centred and divided by their standard deviation across the
classes, so that the student matches the teacher's direction and not its confidence:

    ẑ = m · (z − mean_c z) / √(var_c z + ε)                    (var: the biased variance)
    L = α · τ² · H(softmax(T̂/τ), softmax(Ŝ/τ)) + (1 − α) · CE(Ŝ, y)

with H(p, q) = −Σ_c p_c log q_c.

Behaviours of PaddleClas's `SKDLoss` reproduced here (PaddlePaddle/PaddleClas, commit
85a0c851ad9e06e3beb122f447f1b079575dea2b, ppcls/loss/skdloss.py):
- Both logits are layer-normalised over the classes with no affine parameters and ε = 1e-7,
  then multiplied by m (lines 50-61).
- The soft term is the batch mean of the cross-entropy of the softened predictions, times τ²
  (lines 63-67); the hard term is the batch mean of the cross-entropy of the student's
  normalised logits with one-hot labels (lines 69-70); α weighs them (line 72).
- Without labels, or when told to, the labels are the teacher's arg max (lines 44-45).
- Its ImageNet configuration uses τ = 1, m = 2, α = 0.9
  (ppcls/configs/ImageNet/Distillation/resnet34_distill_resnet18_skd.yaml, lines 44-46).
"""

from __future__ import annotations

import torch

LAYER_NORM_EPS = 1e-7  # PaddleClas's epsilon


def on_sphere(logits: torch.Tensor, radius: float) -> torch.Tensor:
    """Each row centred, divided by √(biased variance + ε), and scaled to the radius."""
    classes = logits.shape[1]
    centred = logits - logits.sum(dim=1, keepdim=True) / classes
    variance = (centred * centred).sum(dim=1, keepdim=True) / classes
    return radius * centred / torch.sqrt(variance + LAYER_NORM_EPS)


def soft_cross_entropy(target_probs: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """The batch mean of −Σ_c p_c log softmax(logits)_c."""
    return -(target_probs * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()


def skd_step_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor | None = None, *,
                  temperature: float, multiplier: float, alpha: float,
                  teacher_labels: bool = False) -> torch.Tensor:
    """The loss one step minimises; the teacher's logits are taken as constants."""
    teacher_logits = teacher_logits.detach()
    if labels is None or teacher_labels:
        labels = teacher_logits.argmax(dim=1)
    student_hat = on_sphere(student_logits, multiplier)
    teacher_hat = on_sphere(teacher_logits, multiplier)
    teacher_probs = torch.softmax(teacher_hat / temperature, dim=1)
    soft = soft_cross_entropy(teacher_probs, student_hat / temperature) * temperature**2
    one_hot = torch.eye(student_logits.shape[1], dtype=student_hat.dtype)[labels]
    hard = soft_cross_entropy(one_hot, student_hat)
    return alpha * soft + (1 - alpha) * hard
