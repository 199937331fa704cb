"""A yardstick for PKD (pipeline/methods/pkd.py), written for this project: the loss of one
Patient-KD training step, spelled out from the paper, with the choices its authors' code makes
reproduced as facts. The method is tested against it in float64; it is never the method.

The paper (Sun et al. 2019, "Patient Knowledge Distillation for BERT Model Compression",
Sec. 3: the distillation objective, then the patient teacher): a student layer j learns the
L2-normalised [CLS] state of its assigned teacher layer, and the whole objective is

    L = α · L_DS + (1 − α) · L_CE + β · L_PT,
    L_DS: the teacher's softened predictions against the student's, at temperature τ,
    L_PT: the squared distance of ĥ_S,j to ĥ_T,map(j), ĥ = h_[CLS] / ‖h_[CLS]‖₂.

Behaviours of the authors' code reproduced here (intersun/PKD-for-BERT-Model-Compression,
commit 9e9e860997ad4815f6ac655d1beb26a85ddd70bb):
- L_DS is KL(softmax(T/τ) ‖ softmax(S/τ)) averaged over every (example, class) entry, so the
  per-example KL divided by the number of classes, then multiplied by τ² (src/KD_loss.py,
  lines 11-13: `nn.KLDivLoss` with reduction 'mean'); L_CE is the batch-mean cross-entropy
  (line 17); α weighs them (line 20).
- L_PT is the mean over (examples, layers, hidden units) of the squared difference, where the
  paper writes a sum of squared norms over examples and layers; each state is normalised first, its norm floored at 1e-12
  (src/KD_loss.py, lines 25-30: `F.normalize` then `F.mse_loss`).
- The states are each encoder layer's output at position 0, no embeddings (src/modeling.py,
  lines 120-123). Every student layer but the last is paired, in order, with the teacher
  layers its `fc_layer_idx` lists, 0-based (NLI_KD_training.py line 260; the teacher's side is
  stacked in src/nli_data_processing.py, lines 670-671).
- The patient term is added only when β > 0 (NLI_KD_training.py, lines 268-278); the step
  is then backward and the optimizer's step (lines 286 and 311).

Departures, none in the formula: the authors compute the patient term in float32 and round its
value to float16 (their apex training); here it stays in the inputs' precision (float64 in the
tests), so that the test measures the formula and not the rounding. Their teacher's states
and logits are read from a file written with the teacher in eval mode (src/utils.py,
`eval_model_dataloader`, line 150); here the caller passes them from an eval-mode forward.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

NORM_FLOOR = 1e-12  # F.normalize's default, which the authors' code uses


def unit_cls(state: torch.Tensor) -> torch.Tensor:
    """A layer's [CLS] vectors (examples × hidden), each divided by its Euclidean norm."""
    lengths = torch.sqrt((state * state).sum(dim=-1, keepdim=True))
    return state / lengths.clamp_min(NORM_FLOOR)


def patient_distance(student_cls: Sequence[torch.Tensor], teacher_cls: Sequence[torch.Tensor]) -> torch.Tensor:
    """L_PT: the mean, over every example, paired layer and hidden unit, of the squared
    difference of the normalised [CLS] vectors; `student_cls[k]` pairs with `teacher_cls[k]`."""
    if len(student_cls) != len(teacher_cls):
        raise ValueError(f"{len(student_cls)} student layers against {len(teacher_cls)} teacher layers")
    squared_sum, count = 0.0, 0
    for s, t in zip(student_cls, teacher_cls):
        gap = unit_cls(s) - unit_cls(t)
        squared_sum = squared_sum + (gap * gap).sum()
        count += gap.numel()
    return squared_sum / count


def soft_term(student_logits: torch.Tensor, teacher_logits: torch.Tensor, tau: float) -> torch.Tensor:
    """L_DS as the authors reduce it: τ² times the KL summed over the batch and the classes,
    divided by their product."""
    teacher_log_probs = torch.log_softmax(teacher_logits / tau, dim=1)
    student_log_probs = torch.log_softmax(student_logits / tau, dim=1)
    pointwise = teacher_log_probs.exp() * (teacher_log_probs - student_log_probs)
    return pointwise.sum() / pointwise.numel() * tau * tau


def pkd_step_loss(student_layers: Sequence[torch.Tensor], student_logits: torch.Tensor, labels: torch.Tensor,
                  teacher_layers: Sequence[torch.Tensor], teacher_logits: torch.Tensor,
                  teacher_layer_indices: Sequence[int], *, tau: float, alpha: float, beta: float) -> torch.Tensor:
    """The loss one step minimises. `*_layers`: each encoder layer's output (examples × tokens
    × hidden), first layer first, no embeddings; `teacher_layer_indices`: 0-based, one per
    student layer but the last."""
    loss = alpha * soft_term(student_logits, teacher_logits, tau) + (1.0 - alpha) * F.cross_entropy(student_logits, labels)
    if beta > 0:
        student_cls = [layer[:, 0] for layer in student_layers[:-1]]
        teacher_cls = [teacher_layers[k][:, 0] for k in teacher_layer_indices]
        loss = loss + beta * patient_distance(student_cls, teacher_cls)
    return loss
