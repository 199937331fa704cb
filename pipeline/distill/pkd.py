"""PKD (Patient KD, Sun et al. 2019): the student distils from a frozen teacher fine-tuned alone,
from its logits and from the [CLS] hidden states of intermediate layers.

Only the student trains. Its loss, as the reference's training step computes it
(intersun/PKD-for-BERT-Model-Compression, NLI_KD_training.py, lines 256-275, with `kd_model
kd.cls` and `normalize_patience True`, its PKD preset):

    L = α · τ² · KL_τ(T ‖ S) / C + (1 − α) · CE(S, y) + β · PT,
    PT = mean over (examples, mapped layers, hidden units) of
         (ĥ_S,j − ĥ_T,map(j))²,  ĥ = h[:, 0] / ‖h[:, 0]‖  (the [CLS] state, L2-normalised)

- The KL term is scaled by τ² and divided by the number of classes C: the reference's
  `distillation_loss` (src/KD_loss.py, lines 7-22) uses `nn.KLDivLoss(reduction='mean')`, which
  averages over examples *and* classes, times T·T; α weights it against (1 − α) · CE.
- PT is `patience_loss` (src/KD_loss.py, lines 25-30) on the [CLS] states (src/modeling.py,
  lines 120-123): `F.normalize` then `F.mse_loss`, the mean over every element.
- The teacher's states and logits are those of its eval mode (the reference precomputes them
  with the teacher in eval mode, src/utils.py `eval_model_dataloader`); the student is in
  train mode.
- Layer map: student layers 1..S−1 learn from teacher layers given by `default_layer_map`
  (PKD-skip), the student's last layer left out as the reference does (`full_output[:-1]`,
  NLI_KD_training.py line 260): its [CLS] state feeds the classifier, already taught by KD.

Departures: the reference rounds the patient loss's value to float16 (`.half()`, for its apex
training) and computes it in float32 whatever its inputs; here it is at least float32, in the
inputs' precision above that, and the L2 normalisation is done in that precision too (the
reference normalises the stored, possibly float16, states). The reference reads the teacher's
states from a file written once, in float32; here the teacher runs each step (the same values).
Its optimizer (BertAdam, warm-up 0.1, weight decay 0.01) is the project's `train` section.

Regression (STS-B, one output): the reference has no regression path (its loss is
cross-entropy whatever the task). Here the KD and task
terms are losses.py's mean squared errors, α · MSE(S, T) + (1 − α) · MSE(S, y), with no τ² (no
softmax, so no temperature to compensate) and C = 1; PT is unchanged.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from pipeline.distill.base import Method, StepContext, model_inputs
from pipeline.distill.losses import at_least_float32, soft_target_loss, task_loss
from pipeline.optim import minimize
from pipeline.settings.methods import METHODS


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


class Pkd(Method):
    info = METHODS["pkd"]

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        s = ctx.settings
        inputs = model_inputs(batch)
        ctx.teacher.eval()
        ctx.student.train()
        with torch.no_grad(), ctx.accelerator.autocast():
            teacher = ctx.teacher(**inputs, output_hidden_states=True)
        student = ctx.student(**inputs, output_hidden_states=True)
        layer_map = s.layer_map
        if layer_map is None:
            layer_map = default_layer_map(len(teacher.hidden_states) - 1, len(student.hidden_states) - 1)
        patience = patient_loss(student.hidden_states, teacher.hidden_states, layer_map)
        loss = pkd_student_loss(student.logits, teacher.logits, batch["labels"], patience, alpha_kd=s.alpha_kd,
                                temperature=s.temperature, beta=s.beta)
        minimize(loss, ctx.accelerator, ctx.student_optimizer, ctx.student_scheduler)
        return {"student_loss": loss.item(), "patient_loss": patience.item()}
