"""MetaDistil's losses (pipeline/methods/metadistil.py): the student's loss L_s, and the
teacher's meta gradient through a pilot update of the student.

With v = ∇_{S'} CE(S'(H)) at the pilot S' = S − η_p g_s (a first-order backward of
`functional_call(student, S')`), the chain rule through S' gives g_T = −η_p · ∇_T ⟨g_s, v⟩: the
gradient of one scalar through the graph of g_s, built with `create_graph=True`, so the student
is never copied. The double backward runs the student's attention eagerly: the fused SDPA
kernels (flash, memory-efficient) have no double backward.
"""

from __future__ import annotations

import torch
from torch.func import functional_call

from pipeline.distill.context import Reduce, model_inputs, no_reduction
from pipeline.distill.losses import at_least_float32, soft_probability_mse, task_loss
from pipeline.distill.modes import eager_attention, train_modes
from pipeline.distill.patience import default_layer_map, patient_loss


def student_loss(student_out, teacher_out, labels: torch.Tensor, *, alpha: float, beta: float, temperature: float,
                 layer_map: list[int]) -> torch.Tensor:
    """L_s of two model outputs (hidden states needed when β > 0); the teacher is not detached:
    the pilot differentiates through it."""
    loss = alpha * soft_probability_mse(student_out.logits, teacher_out.logits, temperature)
    loss = loss + (1.0 - alpha) * task_loss(at_least_float32(student_out.logits), labels)
    if beta != 0.0:
        loss = loss + beta * patient_loss(student_out.hidden_states, teacher_out.hidden_states, layer_map)
    return loss


def teacher_gradient(
    teacher, student, batch: dict, held_batch: dict, *, alpha: float, beta: float, temperature: float,
    pilot_learning_rate: float, reduce_mean: Reduce = no_reduction,
) -> tuple[list[torch.Tensor], float, float]:
    """(g_T, L_s at the pilot, CE(S'(H))): steps 1 and 2 without the teacher's step, g_T one
    tensor per teacher parameter that requires grad. Leaves both models (values, .grad, modes)
    as they were."""
    named = [(n, p) for n, p in student.named_parameters() if p.requires_grad]
    names, params = [n for n, _ in named], [p for _, p in named]
    teacher_params = [p for p in teacher.parameters() if p.requires_grad]
    layer_map = default_layer_map(teacher.config.num_hidden_layers, student.config.num_hidden_layers)
    hidden = beta != 0.0
    inputs = model_inputs(batch)

    # 1. The pilot: g_s with its graph, through the (eval-mode) teacher's forward.
    with train_modes(teacher, False, student, True), eager_attention(student):
        teacher_out = teacher(**inputs, output_hidden_states=hidden)
        student_out = student(**inputs, output_hidden_states=hidden)
        pilot_loss = student_loss(student_out, teacher_out, batch["labels"], alpha=alpha, beta=beta,
                                  temperature=temperature, layer_map=layer_map)
        g_s = torch.autograd.grad(pilot_loss, params, create_graph=True, materialize_grads=True)
    mean_g_s = reduce_mean([g.detach() for g in g_s])
    pilot = [(p.detach() - pilot_learning_rate * g).requires_grad_() for p, g in zip(params, mean_g_s)]

    # 2. v = ∇_{S'} CE(S'(H)), S' in eval mode as the reference's `s_prime_forward`.
    with train_modes(teacher, teacher.training, student, False):
        held_logits = functional_call(student, dict(zip(names, pilot)), (), model_inputs(held_batch)).logits
    held_loss = task_loss(at_least_float32(held_logits), held_batch["labels"])
    v = reduce_mean(list(torch.autograd.grad(held_loss, pilot, materialize_grads=True)))
    del pilot, held_logits

    # dS'/dT = −η_p · ∂g_s/∂T: g_T is a vector-Jacobian product of g_s with v.
    inner = sum((g * direction).sum() for g, direction in zip(g_s, v))
    g_t = torch.autograd.grad(inner, teacher_params, materialize_grads=True)
    return reduce_mean([-pilot_learning_rate * g for g in g_t]), pilot_loss.item(), held_loss.item()


