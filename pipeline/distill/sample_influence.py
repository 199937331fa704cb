"""Per-sample distillation influence: what LGTM's step 4 says of each training sample.

LGTM's teacher update differentiates the batch mean of I_i = ∇θs ℓ_i · v, where
ℓ_i = α_t · KL_τ(S(x_i) ‖ T(x_i)) is sample i's soft-target term of the teacher's loss (as a
function of the student) and v the held-out gradient at the virtual student θs'. A student step
along −∇ℓ_i changes the held-out loss by −ε · I_i to first order: I_i > 0 means that distilling on
sample i lowers the student's held-out loss (docs/method.md, "Per-sample influence"). The step
already evaluates every ℓ_i at θs ± R·v (or J_S v, under `influence: jvp`); this module turns
them into one row per sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from pipeline.distill.losses import at_least_float32, soft_target_losses

# The columns of a run's influence.parquet, in order (the loop adds `step` first).
COLUMNS = ("idx", "label", "influence", "share", "teacher_prob", "student_prob", "teacher_student_kl", "student_loss")


@dataclass
class SampleInfluence:
    """One batch's per-sample influence and the logits it was taken against."""

    influence: torch.Tensor  # [B]: I_i = ∇θs ℓ_i · v
    teacher_logits: torch.Tensor  # [B, C]: the T of ℓ_i (the logits the step's influence used)
    student_logits: torch.Tensor  # [B, C]: the student at θs, in the mode of the influence (eval)


def shares(influence: torch.Tensor) -> torch.Tensor:
    """Each sample's share of the batch's influence, I_i / Σ_j |I_j|: the sign says whether the
    teacher's update pushes the sample's influence up as a help or as a harm, the magnitudes
    sum to 1 (0 for a batch whose influence is all zero). Not I_i / Σ_j I_j: that sum can be
    near zero or negative (samples that help and samples that harm cancel), which makes the
    ratio explode or flip every sign."""
    total = influence.abs().sum()
    return influence / total if total > 0 else torch.zeros_like(influence)


def sample_rows(sample: SampleInfluence, idx: torch.Tensor, labels: torch.Tensor, temperature: float) -> dict[str, list]:
    """The batch's rows, one list per column of COLUMNS. Probabilities are of the true label at
    temperature 1 (NaN for a regression task: one output); the KL is the student's distillation
    term KL_τ(T ‖ S); the student's loss is its task loss on the label (cross-entropy, or the
    squared error for regression)."""
    teacher, student = at_least_float32(sample.teacher_logits.detach()), at_least_float32(sample.student_logits.detach())
    if student.shape[-1] == 1:
        teacher_prob = student_prob = torch.full_like(sample.influence, float("nan"))
        loss = (student.squeeze(-1) - labels.to(student.dtype)).square()
    else:
        teacher_prob = teacher.softmax(-1).gather(-1, labels[:, None]).squeeze(-1)
        student_prob = student.softmax(-1).gather(-1, labels[:, None]).squeeze(-1)
        loss = F.cross_entropy(student, labels, reduction="none")
    influence = sample.influence.detach()
    columns = (idx, labels, influence, shares(influence), teacher_prob, student_prob,
               soft_target_losses(teacher, student, temperature), loss)
    return {name: values.tolist() for name, values in zip(COLUMNS, columns)}


def gathered(sample: SampleInfluence, batch: dict, accelerator) -> tuple[SampleInfluence, torch.Tensor, torch.Tensor]:
    """The whole batch's per-sample influence, idx and labels, from every process's part (equal
    parts: the prepared train loader evens the batches out)."""
    idx, labels = batch["idx"], batch["labels"]
    if accelerator.num_processes == 1:
        return sample, idx, labels
    tensors = accelerator.gather((sample.influence, sample.teacher_logits, sample.student_logits, idx, labels))
    return SampleInfluence(*tensors[:3]), tensors[3], tensors[4]
