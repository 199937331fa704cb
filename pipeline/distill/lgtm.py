"""LGTM: the teacher learns from the distillation influence of its training samples.

One training step (shared/docs/lgtm.md, "One LGTM training step"):
1. forward T and S on the batch B (train mode); g_s = ∇θs L_s, g_t = ∇θt L_t;
2. virtual student step θs' = what the student's optimizer would do with g_s;
3. v = ∇θs' CE(S_θs'(x_H), y_H) on a held-out batch H (train mode);
4. h = (∇θt L_t(θt; θs + R·v) − ∇θt L_t(θt; θs − R·v)) / 2R with R = r / ‖v‖ (eval mode);
5. teacher step with g = g_t − η_t · h;
6. student step: KD from the updated teacher (teacher in eval mode, student in train mode).

Step 4 needs one teacher forward and one backward, not two of each: L_t(θt; θs±) differ only
in the student's soft labels, so the difference of the two losses is taken on one set of
teacher logits and differentiated once. The task-loss part of L_t is the same expression on
both sides and cancels exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

from pipeline.distill.base import Method, StepContext, distill_student, model_inputs
from pipeline.distill.losses import student_loss, task_loss, teacher_loss


def _grads_or_zeros(grads, params) -> list[torch.Tensor]:
    return [torch.zeros_like(p) if g is None else g for g, p in zip(grads, params)]


@contextmanager
def _train_modes(teacher_training: bool, student_training: bool, teacher, student) -> Iterator[None]:
    saved = (teacher.training, student.training)
    teacher.train(teacher_training)
    student.train(student_training)
    try:
        yield
    finally:
        teacher.train(saved[0])
        student.train(saved[1])


@contextmanager
def _restored(params: list[torch.Tensor], optimizer: torch.optim.Optimizer) -> Iterator[None]:
    """Save parameters, their .grad and the optimizer's state; put them back bit for bit on exit.

    Restoring copies the saved tensors back: adding and subtracting a step would not be exact.
    """
    values = [p.detach().clone() for p in params]
    grads = [None if p.grad is None else p.grad.clone() for p in params]
    state = {p: {k: v.clone() if torch.is_tensor(v) else v for k, v in optimizer.state[p].items()}
             for p in params if p in optimizer.state}
    try:
        yield
    finally:
        with torch.no_grad():
            for p, value, grad in zip(params, values, grads):
                p.copy_(value)
                p.grad = grad
        for p in params:
            if p in state:
                for key, value in state[p].items():
                    current = optimizer.state[p].get(key)
                    if torch.is_tensor(value) and torch.is_tensor(current) and current.shape == value.shape:
                        current.copy_(value)
                    else:
                        optimizer.state[p][key] = value
            else:
                optimizer.state.pop(p, None)


@torch.no_grad()
def _logits_at(student, params, values, direction, scale, inputs) -> torch.Tensor:
    """The student's logits with its parameters set to values + scale · direction."""
    for p, value, d in zip(params, values, direction):
        p.copy_(value + scale * d)
    return student(**inputs).logits


def teacher_gradient(
    teacher,
    student,
    student_optimizer: torch.optim.Optimizer,
    batch: dict,
    held_batch: dict,
    *,
    alpha_kd: float,
    alpha_kd_t: float,
    temperature: float,
    eta: float,
    radius: float = 0.01,
) -> list[torch.Tensor]:
    """g = g_t − η · h, one tensor per parameter in `teacher.parameters()` order.

    Leaves both models' parameters (and .grad), train/eval modes and the optimizer's state
    exactly as they were.
    """
    teacher_params = list(teacher.parameters())
    student_params = list(student.parameters())
    inputs, labels = model_inputs(batch), batch["labels"]

    # 1. Both gradients at the current parameters, train mode, one forward of each model.
    with _train_modes(True, True, teacher, student):
        teacher_logits = teacher(**inputs).logits
        student_logits = student(**inputs).logits
        loss_s = student_loss(student_logits, teacher_logits, labels, alpha_kd=alpha_kd, temperature=temperature)
        g_s = _grads_or_zeros(torch.autograd.grad(loss_s, student_params, allow_unused=True), student_params)
        loss_t = teacher_loss(teacher_logits, student_logits, labels, alpha_kd_t=alpha_kd_t, temperature=temperature)
        g_t = _grads_or_zeros(torch.autograd.grad(loss_t, teacher_params, allow_unused=True), teacher_params)

    with _restored(student_params, student_optimizer):
        # 2. The virtual step: the student's own optimizer, with its moments and step count.
        for p, g in zip(student_params, g_s):
            p.grad = g
        student_optimizer.step()
        # 3. Held-out gradient of the virtual student, train mode as the authors.
        with _train_modes(teacher.training, True, teacher, student):
            held_loss = task_loss(student(**model_inputs(held_batch)).logits, held_batch["labels"])
            v = _grads_or_zeros(torch.autograd.grad(held_loss, student_params, allow_unused=True), student_params)

    # 4. Central difference along v around the *current* student, both models in eval mode.
    step = radius / torch.sqrt(sum((d.double() ** 2).sum() for d in v)).item()
    values = [p.detach().clone() for p in student_params]
    with _train_modes(False, False, teacher, student):
        try:
            plus = _logits_at(student, student_params, values, v, step, inputs)
            minus = _logits_at(student, student_params, values, v, -step, inputs)
        finally:
            with torch.no_grad():
                for p, value in zip(student_params, values):
                    p.copy_(value)
        eval_teacher_logits = teacher(**inputs).logits
        difference = teacher_loss(eval_teacher_logits, plus, labels, alpha_kd_t=alpha_kd_t, temperature=temperature) - teacher_loss(
            eval_teacher_logits, minus, labels, alpha_kd_t=alpha_kd_t, temperature=temperature
        )
        h = _grads_or_zeros(torch.autograd.grad(difference, teacher_params, allow_unused=True), teacher_params)

    # 5. The teacher's gradient: its own loss, minus the step that helps the student most.
    return [gt - eta * (hi / (2 * step)) for gt, hi in zip(g_t, h)]


class Lgtm(Method):
    name = "lgtm"
    trains_teacher = True
    uses_held_out = True

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        s = ctx.settings
        gradient = teacher_gradient(
            ctx.teacher, ctx.student, ctx.student_optimizer, batch, held_batch,
            alpha_kd=s.alpha_kd, alpha_kd_t=s.t_alpha_kd, temperature=s.temperature,
            eta=ctx.teacher_scheduler.get_last_lr()[0], radius=s.radius,
        )
        for p, g in zip(ctx.teacher.parameters(), gradient):
            p.grad = g
        ctx.teacher_optimizer.step()
        ctx.teacher_scheduler.step()
        ctx.teacher_optimizer.zero_grad(set_to_none=True)
        return {"student_loss": distill_student(ctx, batch)}
