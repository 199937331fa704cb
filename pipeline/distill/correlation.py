"""DIST's loss (pipeline/methods/dist.py): the student matches the teacher's softened
predictions by Pearson correlation, per example over the classes and per class over the batch."""

from __future__ import annotations

import torch

from pipeline.distill.losses import at_least_float32, soft_target_loss, task_loss

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


