"""A slow, literal MetaDistil round in float64: the yardstick of pipeline/methods/metadistil.py.

It follows the paper (Zhou, Xu and McAuley, ACL 2022, "BERT Learns to Teach: Knowledge
Distillation with Meta Learning", Section 3 and its Algorithm 1; the equations below are in this
module's own notation, and their numbering in the paper was not checked from here) and the
observable behaviour of the authors' code, JetRunner/MetaDistil at commit
80e60c11de531b10d1f06ceb2b71c70665bb6aff, cited below by file (all under nlp/) and lines. It is
written independently of both that code and the method under test: a deep-copied pilot student,
every loss term spelt out, one function per stage.

What one round on a training batch B and held-out batches H_1..H_n computes:

    L_s(S, T; B) = α · KD(s, t) + (1 − α) · CE(s, y) + β · PT(S, T)
    KD(s, t)     = τ² · mean over examples and classes of (softmax(t/τ) − softmax(s/τ))²
                   (with `logits_mse`: mean of (t − s)², no τ²)
    PT(S, T)     = mean over k = 1..L_S−1, examples and features of (u^S_k − u^T_{m(k)})²,
                   u_k the unit [CLS] state after layer k, m(k) = k · ⌊L_T / L_S⌋
    1. pilot:   S' = S − η_p · ∇_S L_s(S, T; B)        (kept as a function of T)
    2. teacher: g_T = ∇_T (1/n) Σ_j CE(S'(H_j), y_j),   clipped, one AdamW step of T
    3. student: g_S = ∇_S L_s(S, T_new; B),            clipped, one AdamW step of S

CE is the cross-entropy, or the squared error for a one-output (regression) head.

Behaviour of the authors' code that this reproduces:
- The weights: α on the soft term, 1 − α on the task loss, β on the patient term
  (run_glue_distillation_meta.py 198-199 and 310-311). The soft term is the τ²-scaled mean
  squared difference of the softened probabilities or, with `--logits_mse`, of the raw logits
  (distillation_meta.py 44-51).
- The patient term compares L2-normalised [CLS] states (no epsilon) of student layers 1..L_S−1
  with the teacher layers that `--select skip` picks (distillation_meta.py 56-69;
  run_glue_distillation_meta.py 721-727), averaged over every element; with β = 0 it is not
  computed at all (distillation_meta.py 53-54).
- The pilot is one plain gradient step at `--assume_s_step_size` with the graph kept, so that S'
  depends on T (run_glue_distillation_meta.py 213-218); no optimizer state touches it.
- Modes: in the pilot the student is in train mode and the teacher in eval mode, its forward
  recorded for the backward (run_glue_distillation_meta.py 179-180 and 187-196); S' runs in eval
  mode (distillation_meta.py 73-83, `is_train=False`); in the real step the student is in train
  mode and the teacher in eval mode without a graph (run_glue_distillation_meta.py 291-292;
  distillation_meta.py 21-24).
- The teacher's loss is S''s task loss averaged over the held-out batches, differentiated with
  respect to every teacher parameter; the gradient is clipped to `--max_grad_norm` by total norm,
  then come one optimizer step and one schedule step (run_glue_distillation_meta.py 234-268).
  Clipping scales by min(1, c / (‖g‖ + 1e-6)), the rule of torch's `clip_grad_norm_`, which the
  authors call.
- Then both models' gradients are cleared and the real student step starts from the student as
  it was before the pilot, against the updated teacher: gradient, clipping, optimizer step,
  schedule step (run_glue_distillation_meta.py 270-330).

Deliberate departures, none in what is computed:
- The authors run their own hand-written BERT forward over a dict of fast weights
  (functional_forward_bert.py) and back the student up to restore it after the pilot. Here the
  pilot is a deep copy of the student: its first forward is the copy's own, and S' runs through
  it with `torch.func.functional_call`. The real student is not touched before step 3, so
  nothing needs restoring.
- One training batch per round and no gradient accumulation (the authors' defaults,
  `--num_meta_batches 1`, `--gradient_accumulation_steps 1`), one process. The held-out loop
  runs over the batches it is given (the authors' default is the whole held-out set).
- The authors put the teacher in train mode before taking its gradient
  (run_glue_distillation_meta.py 232); no forward pass runs in that mode (line 292 switches it
  back before the teacher is next run), so it is not reproduced.
- Batches are dicts of input_ids, attention_mask, token_type_ids and labels; hidden states are
  asked for per call rather than through the configs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch.func import functional_call

# torch's clip_grad_norm_ adds this to the total norm before dividing by it.
CLIP_EPSILON = 1e-6


@dataclass(frozen=True)
class RoundSettings:
    alpha: float          # weight of the soft term; 1 − alpha weighs the task loss
    beta: float           # weight of the patient term
    temperature: float
    pilot_rate: float     # η_p, the pilot's plain SGD step (`--assume_s_step_size`)
    max_grad_norm: float  # both models' gradients are clipped to this total norm
    logits_mse: bool = False  # the soft term on raw logits (`--logits_mse`)


class RoundLosses(NamedTuple):
    pilot: float     # L_s(S, T; B) before any update
    held_out: float  # S''s mean task loss on the held-out batches
    student: float   # L_s(S, T_new; B), the loss of the real student step


def skip_layers(teacher_depth: int, student_depth: int) -> list[int]:
    """The teacher layer matched with each student layer 1..L_S−1: every ⌊L_T/L_S⌋-th of the
    teacher's layers below its last, the first L_S−1 of them."""
    stride = teacher_depth // student_depth
    every_stride = [layer for layer in range(1, teacher_depth) if layer % stride == 0]
    return every_stride[:student_depth - 1]


def model_outputs(model, batch: dict, weights: dict | None = None, hidden: bool = False):
    """The model's outputs on a batch, with its own parameters or with `weights` in their place."""
    inputs = dict(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                  token_type_ids=batch["token_type_ids"], output_hidden_states=hidden)
    if weights is None:
        return model(**inputs)
    return functional_call(model, weights, (), inputs)


def task_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the classes; the squared error when the head has one output."""
    if logits.shape[-1] == 1:
        return ((logits.reshape(-1) - labels.reshape(-1)) ** 2).mean()
    log_probabilities = torch.log_softmax(logits, dim=-1)
    picked = log_probabilities.gather(1, labels.reshape(-1, 1))
    return -picked.mean()


def soft_term(student_logits, teacher_logits, settings: RoundSettings) -> torch.Tensor:
    """KD(s, t): squared gaps of the softened probabilities (or of the logits), averaged."""
    if settings.logits_mse:
        return ((teacher_logits - student_logits) ** 2).mean()
    tau = settings.temperature
    gap = F.softmax(teacher_logits / tau, dim=-1) - F.softmax(student_logits / tau, dim=-1)
    return (gap ** 2).mean() * tau ** 2


def unit_cls(hidden_state: torch.Tensor) -> torch.Tensor:
    """The [CLS] vector of every example, scaled to length 1."""
    cls = hidden_state[:, 0]
    return cls / cls.norm(dim=-1, keepdim=True)


def patient_term(student_states, teacher_states, teacher_layers: list[int]) -> torch.Tensor:
    """`*_states[k]` is the output of layer k (index 0: the embeddings)."""
    total, count = 0.0, 0
    for student_layer, teacher_layer in enumerate(teacher_layers, start=1):
        gap = unit_cls(student_states[student_layer]) - unit_cls(teacher_states[teacher_layer])
        total = total + (gap ** 2).sum()
        count += gap.numel()
    return total / count


def student_objective(student_out, teacher_out, labels, settings: RoundSettings, teacher_layers) -> torch.Tensor:
    """L_s: α · soft + (1 − α) · task + β · patient, the patient term left out when β = 0."""
    loss = settings.alpha * soft_term(student_out.logits, teacher_out.logits, settings)
    loss = loss + (1 - settings.alpha) * task_loss(student_out.logits, labels)
    if settings.beta != 0:
        patient = patient_term(student_out.hidden_states, teacher_out.hidden_states, teacher_layers)
        loss = loss + settings.beta * patient
    return loss


def clip_by_total_norm(grads: list[torch.Tensor], max_norm: float) -> list[torch.Tensor]:
    """All gradients scaled by one factor, so that their joint L2 norm is at most `max_norm`."""
    squared = sum((g ** 2).sum() for g in grads)
    scale = min(1.0, max_norm / (torch.sqrt(squared).item() + CLIP_EPSILON))
    return [g * scale for g in grads]


def apply_gradients(model, grads, optimizer, schedule) -> None:
    """Hand `grads` to the model's parameters, take one optimizer and one schedule step, and
    clear the gradients again."""
    for param, grad in zip(model.parameters(), grads):
        param.grad = grad
    optimizer.step()
    schedule.step()
    for param in model.parameters():
        param.grad = None


def pilot_update(pilot, teacher, batch: dict, settings: RoundSettings, teacher_layers):
    """Step 1: S' = S − η_p ∇_S L_s(S, T; B), differentiable in T. `pilot` is a copy of the
    student holding S. Returns (S' by parameter name, L_s)."""
    pilot.train()
    teacher.eval()
    hidden = settings.beta != 0
    teacher_out = model_outputs(teacher, batch, hidden=hidden)  # with its graph: S' must depend on T
    pilot_out = model_outputs(pilot, batch, hidden=hidden)
    loss = student_objective(pilot_out, teacher_out, batch["labels"], settings, teacher_layers)
    current = dict(pilot.named_parameters())
    # create_graph: the gradient stays a function of T, and so does S'.
    grads = torch.autograd.grad(loss, list(current.values()), create_graph=True)
    moved = {}
    for (name, param), grad in zip(current.items(), grads):
        moved[name] = param - settings.pilot_rate * grad
    return moved, loss


def held_out_loss(pilot, moved: dict, held_batches: list[dict]) -> torch.Tensor:
    """S''s task loss, in eval mode, averaged over the held-out batches."""
    pilot.eval()
    total = 0.0
    for held in held_batches:
        total = total + task_loss(model_outputs(pilot, held, weights=moved).logits, held["labels"])
    return total / len(held_batches)


def teacher_step(teacher, student, batch, held_batches, settings, teacher_layers, optimizer, schedule):
    """Steps 1 and 2 on a deep copy of the student; the teacher takes one clipped AdamW step.
    Returns (L_s at the pilot, S''s held-out loss)."""
    pilot = copy.deepcopy(student)
    moved, pilot_loss = pilot_update(pilot, teacher, batch, settings, teacher_layers)
    meta_loss = held_out_loss(pilot, moved, held_batches)
    grads = torch.autograd.grad(meta_loss, list(teacher.parameters()))
    apply_gradients(teacher, clip_by_total_norm(list(grads), settings.max_grad_norm), optimizer, schedule)
    return pilot_loss.item(), meta_loss.item()


def student_step(student, teacher, batch, settings, teacher_layers, optimizer, schedule) -> float:
    """Step 3: the real student step against the updated (eval-mode, graph-free) teacher."""
    teacher.eval()
    student.train()
    hidden = settings.beta != 0
    with torch.no_grad():
        teacher_out = model_outputs(teacher, batch, hidden=hidden)
    student_out = model_outputs(student, batch, hidden=hidden)
    loss = student_objective(student_out, teacher_out, batch["labels"], settings, teacher_layers)
    grads = torch.autograd.grad(loss, list(student.parameters()))
    apply_gradients(student, clip_by_total_norm(list(grads), settings.max_grad_norm), optimizer, schedule)
    return loss.item()


def meta_round(teacher, student, batch: dict, held_batches: list[dict], settings: RoundSettings, *,
               teacher_optimizer, teacher_schedule, student_optimizer, student_schedule) -> RoundLosses:
    """One MetaDistil round: both models are updated in place."""
    teacher_layers = skip_layers(teacher.config.num_hidden_layers, student.config.num_hidden_layers)
    pilot_loss, held_loss = teacher_step(teacher, student, batch, held_batches, settings, teacher_layers,
                                         teacher_optimizer, teacher_schedule)
    student_loss = student_step(student, teacher, batch, settings, teacher_layers,
                                student_optimizer, student_schedule)
    return RoundLosses(pilot_loss, held_loss, student_loss)
