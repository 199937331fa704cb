"""The losses of LGTM and of the methods it is compared with (docs/method.md).

`KL_τ(a ‖ b)` is the batch mean of Σ_c softmax(a/τ)_c (log softmax(a/τ)_c − log softmax(b/τ)_c),
with no τ² factor, as in the authors' code, and computed in float32 at least, as theirs (under
bf16 mixed precision the logits are bf16). For a regression task (one output) the soft-target
term is the mean squared difference instead: a softmax over one output is constant, so the
authors' KL gives STS-B no distillation signal at all.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def at_least_float32(logits: torch.Tensor) -> torch.Tensor:
    """Losses are computed in float32 at least, as the authors' (bf16 logits under mixed precision)."""
    return logits.to(torch.promote_types(logits.dtype, torch.float32))


def soft_target_loss(target_logits: torch.Tensor, logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL_τ(target ‖ logits); gradients flow into both arguments unless the caller detaches."""
    if logits.shape[-1] == 1:
        return F.mse_loss(at_least_float32(logits).squeeze(-1), at_least_float32(target_logits).squeeze(-1))
    return soft_target_losses(target_logits, logits, temperature).mean()


def soft_target_losses(target_logits: torch.Tensor, logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """Each example's term of `soft_target_loss` (their mean is it): one value per row."""
    target_logits, logits = at_least_float32(target_logits), at_least_float32(logits)
    if logits.shape[-1] == 1:
        return (logits.squeeze(-1) - target_logits.squeeze(-1)).square()
    target_log_probs = F.log_softmax(target_logits / temperature, dim=-1)
    log_probs = F.log_softmax(logits / temperature, dim=-1)
    return (target_log_probs.exp() * (target_log_probs - log_probs)).sum(-1)


def soft_probability_mse(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """τ² · MSE(softmax(t/τ), softmax(s/τ)), the mean over examples and classes (MetaDistil's and
    PESF-KD's soft loss); on one output, MSE(t, s). Gradients flow into both."""
    student_logits, teacher_logits = at_least_float32(student_logits), at_least_float32(teacher_logits)
    if student_logits.shape[-1] == 1:
        return F.mse_loss(teacher_logits, student_logits)
    soft_targets = F.softmax(teacher_logits / temperature, dim=-1)
    probs = F.softmax(student_logits / temperature, dim=-1)
    return F.mse_loss(soft_targets, probs) * temperature * temperature


def task_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on the labels (mean squared error for a regression task)."""
    if logits.shape[-1] == 1:
        return F.mse_loss(logits.squeeze(-1), labels.to(logits.dtype))
    return F.cross_entropy(logits, labels)


def student_loss(student_logits, teacher_logits, labels, *, alpha_kd: float, temperature: float) -> torch.Tensor:
    """L_s = α · KL_τ(T ‖ S) + (1 − α) · CE(S, y), the teacher's logits detached."""
    loss = alpha_kd * soft_target_loss(teacher_logits.detach(), student_logits, temperature)
    if alpha_kd < 1.0:
        loss = loss + (1.0 - alpha_kd) * task_loss(student_logits, labels)
    return loss


def teacher_loss(teacher_logits, student_logits, labels, *, t_alpha_kd: float, temperature: float) -> torch.Tensor:
    """L_t = α_t · KL_τ(S ‖ T) + (1 − α_t) · CE(T, y), the student's logits detached."""
    loss = t_alpha_kd * soft_target_loss(student_logits.detach(), teacher_logits, temperature)
    if t_alpha_kd < 1.0:
        loss = loss + (1.0 - t_alpha_kd) * task_loss(teacher_logits, labels)
    return loss


def mutual_loss(logits: torch.Tensor, peer_logits: torch.Tensor, labels: torch.Tensor, *, kl_weight: float,
                temperature: float) -> torch.Tensor:
    """DML's loss of one model: CE(self, y) + w · KL_τ(peer ‖ self), the peer's logits detached."""
    return task_loss(logits, labels) + kl_weight * soft_target_loss(peer_logits.detach(), logits, temperature)
