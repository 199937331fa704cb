"""SKD's loss (pipeline/methods/skd.py): KD and CE between logits layer-normalised over the
classes and scaled to a sphere of radius m."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pipeline.distill.losses import at_least_float32, soft_target_loss, student_loss

LAYER_NORM_EPS = 1e-7  # PaddleClas's and the authors' README's epsilon


def spherical(logits: torch.Tensor, multiplier: float) -> torch.Tensor:
    """The logits layer-normalised over the classes, times the multiplier, in float32 at least."""
    logits = at_least_float32(logits)
    return F.layer_norm(logits, logits.shape[-1:], None, None, LAYER_NORM_EPS) * multiplier


def skd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor, *, alpha_kd: float,
             temperature: float, multiplier: float) -> torch.Tensor:
    """α · τ² · KL_τ(T̂ ‖ Ŝ) + (1 − α) · CE(Ŝ, y) on normalised logits, the teacher's detached;
    for one output, the project's KD (α · MSE(S, T) + (1 − α) · MSE(S, y))."""
    if student_logits.shape[-1] == 1:
        return student_loss(student_logits, teacher_logits, labels, alpha_kd=alpha_kd, temperature=temperature)
    student, teacher = spherical(student_logits, multiplier), spherical(teacher_logits.detach(), multiplier)
    loss = soft_target_loss(teacher, student, temperature) * temperature**2 * alpha_kd
    if alpha_kd < 1.0:
        loss = loss + F.cross_entropy(student, labels) * (1.0 - alpha_kd)
    return loss


