"""LGTM's teacher gradient, steps 1 to 5 of its step (pipeline/methods/lgtm.py): the
teacher's update g = g_t − η_t · h, h the finite difference (or derivative) of the teacher's
gradient along the held-out gradient of the virtually stepped student.

How it is computed, and why it is the same update:
- No copies: the virtual student θs' is a list of tensors (pipeline/distill/virtual_step.py),
  evaluated with `torch.func.functional_call`; the student, its optimizer and the teacher are
  only read. Steps 1 to 4 see only the word-embedding rows of the tokens in B and H
  (pipeline/distill/student_view.py).
- Step 4 needs one teacher backward, not two teacher forward+backward passes: L_t(θt; θs±)
  depend on θs only through the detached soft labels, and the gradient of L_t with respect to
  the teacher's logits is linear in them. So h is the backward, through one teacher forward,
  of δ_h = ∂/∂T [soft(S+ ‖ T) − soft(S− ‖ T)] · α_t / 2R, a logit-space tensor computed
  exactly (the task-loss part of L_t is the same on both sides and is left out, not
  subtracted). The perturbed student forwards need no graph.
- `mode="fast"` also takes g_t from that same backward: g = ∇θt of the step-1
  teacher forward against ∂L_t/∂T − η·δ_h, one backward in all. It is the authors' update
  whenever train and eval mode agree (dropout 0: float64 round-off, tested); with dropout, h
  is taken through the teacher's step-1 train-mode forward (its dropout mask) where the
  authors use a separate eval-mode forward. The student's step 6 is back-propagated through
  its step-1 forward (θs is unchanged; only the soft labels are new), reusing step 1's
  dropout mask. `mode="faithful"` keeps the authors' modes: a second, eval-mode teacher
  forward and backward for h, and a fresh student forward for step 6.
- `influence="jvp"` replaces the finite difference by its limit: the soft labels' directional
  derivative along v from one forward-mode pass (`torch.func.jvp`), δ_h = α_t · ∂/∂T of
  ⟨∂soft/∂S, J_S v⟩. Exact where the difference is O(R²) off. Forward-mode AD has no rule for
  the CPU SDPA attention kernel, so the student runs eager attention for that pass.
- On the steps the loop asks for them (`lgtm.influence_every`), the per-sample influence of
  step 4 (pipeline/distill/sample_influence.py) comes from the same perturbed forwards (or the same
  tangent), plus one no-grad student forward at θs; on the other steps nothing is computed.

Across processes (`accelerate launch`), each process holds part of the batch: g_s, v and g
are averaged over processes where the single-process algorithm averages over examples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.func import jvp

from pipeline.distill.context import Reduce, model_inputs, no_reduction
from pipeline.distill.losses import soft_target_loss, soft_target_losses, student_loss, task_loss, teacher_loss
from pipeline.distill.modes import eager_attention, train_modes
from pipeline.distill.sample_influence import SampleInfluence
from pipeline.distill.student_view import StudentView
from pipeline.distill.virtual_step import virtual_step


def _same_rows(rows: torch.Tensor) -> torch.Tensor:
    return rows


def grads(output: torch.Tensor, inputs: list[torch.Tensor], grad_output: torch.Tensor | None = None,
           retain_graph: bool | None = None) -> list[torch.Tensor]:
    return list(torch.autograd.grad(output, inputs, grad_outputs=grad_output, retain_graph=retain_graph,
                                    materialize_grads=True))


def _fast_teacher_gradient(logits: torch.Tensor, params: list[torch.Tensor], delta_t: torch.Tensor,
                           delta_h: torch.Tensor, eta: float) -> list[torch.Tensor]:
    """g = J^T (δ_t − η·δ_h), back through the teacher's forward of step 1.

    One backward in float32. Under bf16 or fp16 autocast the logits, and so δ_t, are 16-bit:
    η·δ_h is about 1e-3 of δ_t there, and δ_t − η·δ_h would round most of it away (measured
    at the paper's shape: 97 % of the influence term lost, `python -m benchmarks.low_precision`).
    Then each is back-propagated alone and the two are combined in the parameters' precision,
    at the cost of a second teacher backward."""
    if logits.dtype not in (torch.float16, torch.bfloat16):
        return grads(logits, params, delta_t - eta * delta_h)
    g_t = grads(logits, params, delta_t, retain_graph=True)
    h = grads(logits, params, delta_h.to(logits.dtype))
    return [gt - eta * hi for gt, hi in zip(g_t, h)]


def _influence_logit_gradient(
    student, view: StudentView, direction, batch, teacher_logits, *, t_alpha_kd, temperature, radius, influence,
    samples: list[SampleInfluence] | None = None,
) -> torch.Tensor:
    """δ_h: the gradient of the distillation influence with respect to the teacher's logits
    (student in eval mode, as the authors' step 4). With `samples`, also appends the batch's
    per-sample influence I_i = ∇θs ℓ_i · v (pipeline/distill/sample_influence.py)."""
    target = teacher_logits.detach().requires_grad_()
    values = view.values()
    if influence == "jvp":
        def soft_labels(*params):
            return view.logits(list(params), batch)

        with eager_attention(student):
            student_logits, tangent = jvp(soft_labels, tuple(values), tuple(direction))
        student_logits = student_logits.detach().requires_grad_()
        # ⟨∂soft/∂S, J_S v⟩, differentiated with respect to the teacher's logits.
        (along,) = torch.autograd.grad(soft_target_loss(student_logits, target, temperature), student_logits, create_graph=True)
        if samples is not None:  # `along` is ∂(batch mean)/∂S: row i is ∂ℓ_i/∂S_i / B
            per_sample = t_alpha_kd * len(along) * (along * tangent).sum(-1)
            samples.append(SampleInfluence(per_sample.detach(), target.detach(), student_logits.detach()))
        return t_alpha_kd * grads((along * tangent).sum(), [target])[0]
    # One fused pass per tensor (foreach) for the norm and each perturbed student.
    step = radius / torch.linalg.vector_norm(torch.stack(torch._foreach_norm(direction))).item()
    with torch.no_grad():
        plus = view.logits(torch._foreach_add(values, direction, alpha=step), batch)
        minus = view.logits(torch._foreach_add(values, direction, alpha=-step), batch)
    if samples is not None:
        with torch.no_grad():
            per_sample = t_alpha_kd * (soft_target_losses(plus, target, temperature)
                                       - soft_target_losses(minus, target, temperature)) / (2 * step)
            samples.append(SampleInfluence(per_sample, target.detach(), view.logits(values, batch)))
    difference = soft_target_loss(plus, target, temperature) - soft_target_loss(minus, target, temperature)
    return t_alpha_kd * grads(difference, [target])[0] / (2 * step)


@dataclass
class FirstForward:
    """Step 1: both models on B in train mode, with their graphs; the student through `view`,
    its embedding rows as the leaf `student_leaves` holds."""

    view: StudentView
    student_leaves: list[torch.Tensor]
    teacher_logits: torch.Tensor
    student_logits: torch.Tensor
    teacher_loss: torch.Tensor


def first_forward(
    teacher, student, batch: dict, held_batch: dict, *, t_alpha_kd: float, temperature: float,
    union_rows: Callable[[torch.Tensor], torch.Tensor] = _same_rows,
) -> FirstForward:
    view = StudentView(student, [batch, held_batch], union_rows)
    leaves = list(view.params)
    if view.embedding_index is not None:
        leaves[view.embedding_index] = view.values()[view.embedding_index].requires_grad_()
    with train_modes(teacher, True, student, True):
        teacher_logits = teacher(**model_inputs(batch)).logits
        student_logits = view.logits(leaves, batch)
    loss_t = teacher_loss(teacher_logits, student_logits, batch["labels"], t_alpha_kd=t_alpha_kd, temperature=temperature)
    return FirstForward(view, leaves, teacher_logits, student_logits, loss_t)


def teacher_gradient(
    teacher,
    student,
    student_optimizer,
    batch: dict,
    held_batch: dict,
    *,
    alpha_kd: float,
    t_alpha_kd: float,
    temperature: float,
    eta: float,
    radius: float,
    mode: str,
    influence: str,
    reduce_mean: Reduce = no_reduction,
    first: FirstForward | None = None,
    keep_student_graph: bool = False,
    samples: list[SampleInfluence] | None = None,
) -> list[torch.Tensor]:
    """g = g_t − η · h (steps 1 to 5), one tensor per parameter in `teacher.parameters()` order.

    Leaves both models' parameters (and .grad), train/eval modes and the optimizer's state
    exactly as they were. For the training step: `reduce_mean` averages across processes,
    `first` is step 1's forward pass when the caller made it, and `keep_student_graph` keeps
    its student graph for the caller to back-propagate the student's step 6 through. With
    `samples`, step 4's per-sample influence is appended to it (this process's examples).
    """
    first = first or first_forward(teacher, student, batch, held_batch, t_alpha_kd=t_alpha_kd, temperature=temperature)
    view = first.view
    teacher_params = list(teacher.parameters())

    # 1. g_s at the current parameters (g_t, or its logit gradient, below).
    loss_s = student_loss(first.student_logits, first.teacher_logits, batch["labels"], alpha_kd=alpha_kd,
                          temperature=temperature)
    g_s = reduce_mean(list(torch.autograd.grad(loss_s, first.student_leaves, retain_graph=keep_student_graph,
                                               materialize_grads=True)))

    # 2. The virtual step, and 3. the held-out gradient at θs' (train mode, as the authors).
    stepped = virtual_step(view.params, g_s, student_optimizer, view.row_indices())
    virtual = [p.requires_grad_() for p in stepped]
    with train_modes(teacher, teacher.training, student, True):
        held_logits = view.logits(virtual, held_batch)
    v = reduce_mean(grads(task_loss(held_logits, held_batch["labels"]), virtual))
    del virtual, stepped, held_logits

    # 4. The influence, in the teacher's logit space; 5. back through the teacher.
    settings = dict(t_alpha_kd=t_alpha_kd, temperature=temperature, radius=radius, influence=influence,
                    samples=samples)
    if mode == "fast":
        with train_modes(teacher, teacher.training, student, False):
            delta_h = _influence_logit_gradient(student, view, v, batch, first.teacher_logits, **settings)
        (delta_t,) = torch.autograd.grad(first.teacher_loss, first.teacher_logits)
        g = _fast_teacher_gradient(first.teacher_logits, teacher_params, delta_t, delta_h, eta)
    else:
        g_t = grads(first.teacher_loss, teacher_params)
        with train_modes(teacher, False, student, False):
            eval_logits = teacher(**model_inputs(batch)).logits
            delta_h = _influence_logit_gradient(student, view, v, batch, eval_logits, **settings)
        h = grads(eval_logits, teacher_params, delta_h)
        g = [gt - eta * hi for gt, hi in zip(g_t, h)]
    return reduce_mean(g)
