"""The authors' LGTM teacher gradient, written out literally: the yardstick, not the method.

Deep copies of the student and of its optimizer, a real optimizer step on the copy, and two
teacher forward+backward passes for the finite difference, in the authors' train/eval modes
(docs/method.md). The tests compare `pipeline.distill.lgtm` with it in float64; the
benchmark (`python -m stages bench`) times it beside the fast step.
"""

from __future__ import annotations

import copy

import torch

from pipeline.distill.base import model_inputs
from pipeline.distill.losses import student_loss, task_loss, teacher_loss


def _forward(model, batch: dict) -> torch.Tensor:
    return model(**model_inputs(batch)).logits


def reference_teacher_gradient(
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
) -> list[torch.Tensor]:
    """g = g_t − η · h, one tensor per teacher parameter, by the authors' algorithm."""
    teacher, student = copy.deepcopy(teacher), copy.deepcopy(student)
    labels = batch["labels"]

    # 1. g_s and g_t at the current parameters, both models in train mode.
    teacher.train(), student.train()
    t_logits, s_logits = _forward(teacher, batch), _forward(student, batch)
    g_s = torch.autograd.grad(student_loss(s_logits, t_logits, labels, alpha_kd=alpha_kd, temperature=temperature),
                              list(student.parameters()))
    g_t = torch.autograd.grad(teacher_loss(t_logits, s_logits, labels, t_alpha_kd=t_alpha_kd, temperature=temperature),
                              list(teacher.parameters()))

    # 2. The virtual student: a copy, stepped by a copy of the optimizer.
    virtual = copy.deepcopy(student)
    inner = getattr(student_optimizer, "optimizer", student_optimizer)
    virtual_optimizer = torch.optim.AdamW(virtual.parameters())  # hyper-parameters: from the state dict
    virtual_optimizer.load_state_dict(copy.deepcopy(inner.state_dict()))
    for p, g in zip(virtual.parameters(), g_s):
        p.grad = g.clone()
    virtual_optimizer.step()

    # 3. The held-out gradient of the virtual student, train mode.
    v = torch.autograd.grad(task_loss(_forward(virtual, held_batch), held_batch["labels"]), list(virtual.parameters()))

    # 4. Central difference along v around the current student, both models in eval mode.
    step = radius / torch.sqrt(sum((x.double() ** 2).sum() for x in v)).item()
    teacher.eval()
    gradients = []
    for sign in (1, -1):
        moved = copy.deepcopy(student).eval()
        with torch.no_grad():
            for p, d in zip(moved.parameters(), v):
                p.add_(sign * step * d)
            moved_logits = _forward(moved, batch)
        loss = teacher_loss(_forward(teacher, batch), moved_logits, labels, t_alpha_kd=t_alpha_kd, temperature=temperature)
        gradients.append(torch.autograd.grad(loss, list(teacher.parameters())))
    h = [(plus - minus) / (2 * step) for plus, minus in zip(*gradients)]

    # 5. The teacher's gradient.
    return [gt - eta * hi for gt, hi in zip(g_t, h)]
