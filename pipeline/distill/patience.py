"""Patient KD's losses (pipeline/methods/pkd.py): the patient term between the L2-normalised
[CLS] states of mapped layers, which PESF-KD and MetaDistil add to their own losses too, its
default layer map, and PKD's whole student loss."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from pipeline.distill.losses import at_least_float32, soft_target_loss, task_loss


def default_layer_map(teacher_layers: int, student_layers: int) -> list[int]:
    """For student layers j = 1..S−1 (1-based), the teacher layer (1-based) each learns from.

    PKD-skip, generalised: with a teacher at least as deep as the student, layer j learns from
    teacher layer j · ⌊T/S⌋. For 12 → 6 that is [2, 4, 6, 8, 10], the reference's map
    (`--fc_layer_idx 1,3,5,7,9`, 0-based, src/argument_parser.py line 265); for 24 → 6 and 24 → 3,
    [4, 8, 12, 16, 20] and [8, 16], its maps for BERT-large (scripts/run_student_patience.py with
    src/utils.py line 222; for 12 → 3 that script takes teacher layers [10, 11] instead, a
    PKD-last choice); MetaDistil's `--select skip` is the same rule. Equal depths map each
    layer to itself; since (S−1)·⌊T/S⌋ ≤ T − ⌊T/S⌋, the teacher's last layer is never used.
    A teacher shallower than its student (outside both papers) maps j to ⌈j · T/S⌉, spread
    evenly over 1..T.

    The student's last layer is left out, as in the reference: its [CLS] state is what the
    classifier reads, already taught by the KD term. So a one-layer student (the demo's, under a
    two-layer teacher) gets an empty map: no patient term, PKD is KD there (set `pkd.layer_map`
    to distil its one layer anyway).
    """
    if teacher_layers < 1 or student_layers < 1:
        raise ValueError(f"depths must be positive, got teacher {teacher_layers}, student {student_layers}")
    stride = teacher_layers // student_layers
    if stride >= 1:
        return [j * stride for j in range(1, student_layers)]
    return [math.ceil(j * teacher_layers / student_layers) for j in range(1, student_layers)]


def patient_loss(student_hidden: tuple[torch.Tensor, ...], teacher_hidden: tuple[torch.Tensor, ...],
                 layer_map: list[int]) -> torch.Tensor:
    """PKD's patient term: the mean squared difference of the L2-normalised [CLS] states of
    student layer j and teacher layer `layer_map[j − 1]`, j = 1..len(layer_map), averaged over
    examples, mapped layers and hidden units (the reference's `patience_loss` with normalisation).

    `*_hidden` are Hugging Face `hidden_states` (index 0: the embeddings, index j: layer j's
    output), so layer numbers index them directly. Computed in float32 at least. Gradients flow
    into both models' states unless the caller detaches them. An empty map gives 0.
    """
    if len(layer_map) > len(student_hidden) - 1:
        raise ValueError(f"layer map {layer_map} has more entries than the student's {len(student_hidden) - 1} layers")
    if any(not 1 <= t <= len(teacher_hidden) - 1 for t in layer_map):
        raise ValueError(f"layer map {layer_map} names a layer outside the teacher's 1..{len(teacher_hidden) - 1}")
    if not layer_map:
        return at_least_float32(student_hidden[-1]).new_zeros(())
    student = torch.stack([at_least_float32(student_hidden[j][:, 0]) for j in range(1, len(layer_map) + 1)], dim=1)
    teacher = torch.stack([at_least_float32(teacher_hidden[t][:, 0]) for t in layer_map], dim=1)
    if student.shape[-1] != teacher.shape[-1]:
        raise ValueError(f"PKD needs equal hidden sizes: student {student.shape[-1]}, teacher {teacher.shape[-1]}")
    dtype = torch.promote_types(student.dtype, teacher.dtype)
    return F.mse_loss(F.normalize(teacher.to(dtype), p=2, dim=2), F.normalize(student.to(dtype), p=2, dim=2))


def pkd_student_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                     patience: torch.Tensor, *, alpha_kd: float, temperature: float,
                     beta: float) -> torch.Tensor:
    """α · τ² · KL_τ(T ‖ S) / C + (1 − α) · CE(S, y) + β · PT, the teacher's logits detached
    (for one output: α · MSE(S, T) + (1 − α) · MSE(S, y) + β · PT)."""
    classes = student_logits.shape[-1]
    soft = soft_target_loss(teacher_logits.detach(), student_logits, temperature)
    if classes > 1:
        # nn.KLDivLoss(reduction='mean') in the reference: the mean over examples and classes.
        soft = soft / classes * temperature * temperature
    loss = alpha_kd * soft
    if alpha_kd < 1.0:
        loss = loss + (1.0 - alpha_kd) * task_loss(student_logits, labels)
    return loss + beta * patience


