"""What one LGTM iteration of the authors' code computes, written out slowly and literally: the
yardstick that pipeline/methods/lgtm.py is tested against in float64, and that the benchmark
times beside it. Never the method itself.

The method (Ren et al., "Tailoring Instructions to Student's Learning Levels Boosts Knowledge
Distillation", ACL 2023, arXiv:2305.09651: its method section, on distillation influence, its
finite-difference approximation and the teacher's update), in the notation of docs/method.md.
A teacher T(θt) and a student S(θs), a training batch B, a held-out batch H, a temperature τ,
and KL_τ(a ‖ b) the batch mean of Σ_c softmax(a/τ)_c · (log softmax(a/τ)_c − log softmax(b/τ)_c):

    L_s(θs; θt) = α · KL_τ(T(x) ‖ S(x)) + (1 − α) · CE(S(x), y)         the student's KD loss
    L_t(θt; θs) = α_t · KL_τ(S(x) ‖ T(x)) + (1 − α_t) · CE(T(x), y)     the teacher's loss
    θs'         = one step of the student's AdamW on ∇θs L_s              the look-ahead student
    v           = ∇θs' CE(S_θs'(x_H), y_H)                                its held-out gradient
    h           = ∇θt (∇θs L_t · v)                                       distillation influence
                ≈ [∇θt L_t(θt; θs + R·v) − ∇θt L_t(θt; θs − R·v)] / (2R),   R = r / ‖v‖
    g           = ∇θt L_t − η · h                                         the teacher's gradient

then one step of the teacher's optimizer on g, and one ordinary KD step of the student on L_s
from the updated teacher. The soft targets are always the other model's logits, detached.

How the authors' code computes it, reproduced here (twinkle0331/LGTM at commit
e9b615fb0cef1fddb17d693076dc54e9b804d110; U = utils_glue.py, R = run_glue.py):
- KL_τ has no τ² factor, sums over classes and averages over the batch; its log-softmaxes are
  taken in float32 (U 12-18). CE is each model's own loss from the labels (U 33-34), an MSE
  on a one-output (regression) task, where KL_τ is identically 0.
- The loop puts both models in train mode before the teacher's update (R 685-686). One
  forward of the teacher, then one of the student, on B, give both gradients at the current
  parameters (U 92-96, 157).
- The look-ahead student is a deep copy of the student holding, for each parameter, the
  result of transformers 4.x's AdamW update applied out of place with a deep copy of that
  parameter's optimizer state (zero moments and step 0 if it has none): the live optimizer
  and student are not changed (U 100-154, 161-175).
- v is the gradient of that copy's own loss on H, taken in train mode (U 66-73).
- r = 0.01 (U 177); ‖v‖ is the norm of all of v's tensors together (U 178). Both models are
  put in eval mode for the finite difference (U 180-181) and stay so. The student itself is
  shifted in place by +R·v, then by −2R·v, then by +R·v back, which restores it up to
  round-off (U 184-199); each side has its own teacher forward and backward (U 182-195).
- η is the teacher scheduler's current rate, read before it advances (U 78, 53-57);
  g = ∇θt L_t − η·h becomes the teacher's gradient for one optimizer step (U 80-87).
- Then the teacher in eval mode gives the soft targets without a graph, and the student, in
  train mode, takes one step of its optimizer and schedule on L_s (R 714-723, 738-744).
- Both optimizers are transformers' AdamW with its defaults but the learning rate, both
  schedules `get_scheduler`'s (R 622-649): see reference/transformers_adamw.py.

Departures, none in the algorithm: KL_τ is computed in the logits' precision when that is above
float32 (theirs always casts to float32), so that the float64 tests measure the algorithm and
not float32 rounding; gradients are taken with `torch.autograd.grad` rather than read from
`.grad`; the perturbed students' forwards keep no graph (their logits are detached anyway);
inputs are not moved between devices; reading a parameter's optimizer state never adds an
empty entry to the live optimizer; gradient accumulation is not modelled (theirs divides the
student's loss by its number of steps, 1 by default and in the command of their README).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from reference.transformers_adamw import Transformers4AdamW, adamw_4x_update

RADIUS = 0.01  # the authors' r: the finite difference's step, relative to ‖v‖


@dataclass(frozen=True)
class KdWeights:
    alpha_kd: float  # α: the student's weight on KL_τ, the rest on its labels
    t_alpha_kd: float  # α_t: the teacher's weight on KL_τ toward the student
    temperature: float  # τ


def kl_to_soft_targets(logits: torch.Tensor, target_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL_τ(target ‖ logits), a batch mean with no τ² factor, in at least float32."""
    dtype = torch.promote_types(torch.promote_types(logits.dtype, target_logits.dtype), torch.float32)
    log_target = F.log_softmax(target_logits / temperature, dim=-1, dtype=dtype)
    log_model = F.log_softmax(logits / temperature, dim=-1, dtype=dtype)
    per_example = (log_target.exp() * (log_target - log_model)).sum(dim=-1)
    return per_example.mean()


def student_objective(student_output, teacher_logits: torch.Tensor, weights: KdWeights) -> torch.Tensor:
    """L_s: toward the teacher's (detached) predictions, and the labels."""
    distillation = kl_to_soft_targets(student_output.logits, teacher_logits.detach(), weights.temperature)
    return weights.alpha_kd * distillation + (1 - weights.alpha_kd) * student_output.loss


def teacher_objective(teacher_output, student_logits: torch.Tensor, weights: KdWeights) -> torch.Tensor:
    """L_t: toward the student's (detached) predictions, and the labels."""
    distillation = kl_to_soft_targets(teacher_output.logits, student_logits.detach(), weights.temperature)
    return weights.t_alpha_kd * distillation + (1 - weights.t_alpha_kd) * teacher_output.loss


def first_pass_gradients(teacher, student, batch: dict,
                         weights: KdWeights) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """(∇θs L_s, ∇θt L_t) at the current parameters, from one forward of each model on the
    batch in their current modes (the teacher's forward first, which fixes the order in which
    dropout draws its masks)."""
    teacher_output = teacher(**batch)
    student_output = student(**batch)
    student_loss = student_objective(student_output, teacher_output.logits, weights)
    teacher_loss = teacher_objective(teacher_output, student_output.logits, weights)
    student_grads = torch.autograd.grad(student_loss, list(student.parameters()))
    teacher_grads = torch.autograd.grad(teacher_loss, list(teacher.parameters()))
    return list(student_grads), list(teacher_grads)


def look_ahead_student(student, student_grads: list[torch.Tensor], optimizer):
    """A new model: a deep copy of the student whose parameters have taken one step of its
    (transformers 4.x AdamW) optimizer with `student_grads`. Each parameter's update runs on a
    deep copy of its optimizer state, so neither the optimizer nor the student changes."""
    group_of = {id(param): group for group in optimizer.param_groups for param in group["params"]}
    ahead = copy.deepcopy(student)
    with torch.no_grad():
        for param, grad, twin in zip(student.parameters(), student_grads, ahead.parameters()):
            group = group_of[id(param)]
            state = copy.deepcopy(optimizer.state.get(param, {}))
            twin.copy_(adamw_4x_update(param.detach(), grad, state, lr=group["lr"], betas=group["betas"],
                                       eps=group["eps"], weight_decay=group["weight_decay"],
                                       correct_bias=group["correct_bias"]))
    return ahead


def held_out_gradient(model, held_batch: dict) -> list[torch.Tensor]:
    """v: the gradient of the model's own loss on the held-out batch, in train mode."""
    model.train()
    loss = model(**held_batch).loss
    return list(torch.autograd.grad(loss, list(model.parameters())))


def _move_student(student, direction: list[torch.Tensor], amount: float) -> None:
    """θs ← θs + amount · v, in place."""
    with torch.no_grad():
        for param, component in zip(student.parameters(), direction):
            param.add_(component, alpha=amount)


def _teacher_loss_gradient(teacher, student, batch: dict, weights: KdWeights) -> list[torch.Tensor]:
    """∇θt L_t with the student as it stands: a fresh teacher forward and backward."""
    teacher_output = teacher(**batch)
    with torch.no_grad():
        student_logits = student(**batch).logits
    loss = teacher_objective(teacher_output, student_logits, weights)
    return list(torch.autograd.grad(loss, list(teacher.parameters())))


def distillation_influence(teacher, student, batch: dict, direction: list[torch.Tensor], weights: KdWeights,
                           radius: float = RADIUS) -> list[torch.Tensor]:
    """h, by the central difference along v around the *current* student, both models in eval
    mode (left so). The student is moved in place and moved back, as the authors do, so it
    returns to its parameters up to round-off."""
    teacher.eval()
    student.eval()
    step = radius / torch.cat([component.flatten() for component in direction]).norm()
    _move_student(student, direction, step.item())
    ahead_side = _teacher_loss_gradient(teacher, student, batch, weights)
    _move_student(student, direction, -2 * step.item())
    behind_side = _teacher_loss_gradient(teacher, student, batch, weights)
    _move_student(student, direction, step.item())
    return [(ahead - behind) / (2 * step) for ahead, behind in zip(ahead_side, behind_side)]


def teacher_gradient(teacher, student, student_optimizer, batch: dict, held_batch: dict, weights: KdWeights, *,
                     eta: float, radius: float = RADIUS) -> list[torch.Tensor]:
    """g = ∇θt L_t − η · h, one tensor per teacher parameter. The models should be in train
    mode (as the loop leaves them); they end in eval mode, the student moved and restored."""
    student_grads, own_gradient = first_pass_gradients(teacher, student, batch, weights)
    ahead = look_ahead_student(student, student_grads, student_optimizer)
    direction = held_out_gradient(ahead, held_batch)
    influence = distillation_influence(teacher, student, batch, direction, weights, radius)
    return [own.sub(term, alpha=eta) for own, term in zip(own_gradient, influence)]


def teacher_update(teacher, student, student_optimizer, teacher_optimizer, teacher_schedule, batch: dict,
                   held_batch: dict, weights: KdWeights) -> None:
    """One step of the teacher's optimizer on g, η being the rate its schedule gives this
    step; then the schedule advances."""
    eta = teacher_schedule.get_last_lr()[0]
    gradient = teacher_gradient(teacher, student, student_optimizer, batch, held_batch, weights, eta=eta)
    for param, component in zip(teacher.parameters(), gradient):
        param.grad = component
    teacher_optimizer.step()
    teacher_schedule.step()


def student_kd_step(teacher, student, optimizer, schedule, batch: dict, weights: KdWeights) -> None:
    """One ordinary KD step of the student: soft targets from the teacher in eval mode, the
    student in train mode."""
    teacher.eval()
    student.train()
    with torch.no_grad():
        teacher_logits = teacher(**batch).logits
    loss = student_objective(student(**batch), teacher_logits, weights)
    loss.backward()
    optimizer.step()
    schedule.step()
    optimizer.zero_grad()


def lgtm_iteration(teacher, student, *, teacher_optimizer, teacher_schedule, student_optimizer, student_schedule,
                   batch: dict, held_batch: dict, weights: KdWeights) -> None:
    """One iteration of the authors' LGTM loop: the teacher's update, then the student's KD
    step from the updated teacher."""
    teacher.train()
    student.train()
    teacher_update(teacher, student, student_optimizer, teacher_optimizer, teacher_schedule, batch, held_batch,
                   weights)
    student_kd_step(teacher, student, student_optimizer, student_schedule, batch, weights)


def optimizer_for_copy(optimizer, params) -> Transformers4AdamW:
    """A transformers-4.x AdamW over `params`, copies of `optimizer`'s parameters in the same
    order, with its groups' hyper-parameters and a deep copy of its state."""
    source = getattr(optimizer, "optimizer", optimizer)  # Accelerate wraps optimizers
    remaining = iter(params)
    groups = [{**{key: value for key, value in group.items() if key != "params"},
               "params": [next(remaining) for _ in group["params"]]} for group in source.param_groups]
    copied = Transformers4AdamW(groups)
    originals = [param for group in source.param_groups for param in group["params"]]
    duplicates = [param for group in groups for param in group["params"]]
    for original, duplicate in zip(originals, duplicates):
        if source.state.get(original):
            copied.state[duplicate] = copy.deepcopy(source.state[original])
    return copied


def teacher_gradient_on_copies(teacher, student, student_optimizer, batch: dict, held_batch: dict,
                               weights: KdWeights, *, eta: float, radius: float = RADIUS) -> list[torch.Tensor]:
    """`teacher_gradient` on deep copies of both models (put in train mode) and of the
    student's optimizer: the arguments are left exactly as they were."""
    teacher, student = copy.deepcopy(teacher), copy.deepcopy(student)
    teacher.train()
    student.train()
    optimizer = optimizer_for_copy(student_optimizer, list(student.parameters()))
    return teacher_gradient(teacher, student, optimizer, dict(batch), dict(held_batch), weights, eta=eta,
                            radius=radius)
