"""SKD's step against the yardstick of PaddleClas's SKDLoss (reference/skd.py) and a plain AdamW
step, in float64 on tiny BERTs; the two-class caveat; regression."""

from __future__ import annotations

import copy

import torch
from step_context import frozen_teacher_context, optimizer, params
from test_lgtm_gradient import batch, forward, tiny_bert
from transformers import get_linear_schedule_with_warmup

from pipeline.distill.spherical import skd_loss, spherical
from pipeline.methods.skd import Skd, SkdSettings
from reference.skd import skd_step_loss

SETTINGS = SkdSettings(alpha_kd=0.8, temperature=2.0, multiplier=2.0)


def context(teacher, student, settings=SETTINGS):
    return frozen_teacher_context(teacher, student, settings)


def test_two_steps_are_paddleclas_skd_loss_and_a_plain_adamw_step():
    teacher, student = tiny_bert(2, 16, seed=1), tiny_bert(1, 8, seed=2)
    ctx = context(teacher, student)
    ref_teacher, ref_student = copy.deepcopy(teacher), copy.deepcopy(student)
    ref_opt = optimizer(ref_student)
    ref_sched = get_linear_schedule_with_warmup(ref_opt, 0, 10)
    teacher_before = params(teacher)
    for seed in (1, 2):
        b = batch(seed)
        ref_teacher.eval()
        with torch.no_grad():
            t = forward(ref_teacher, b)
        ref_student.train()
        ref_opt.zero_grad()
        skd_step_loss(forward(ref_student, b), t, b["labels"], temperature=SETTINGS.temperature,
                      multiplier=SETTINGS.multiplier, alpha=SETTINGS.alpha_kd).backward()
        ref_opt.step()
        ref_sched.step()
        losses = Skd().step(ctx, b, None)
    assert torch.isfinite(torch.tensor(losses["student_loss"]))
    for got, expected in zip(student.parameters(), ref_student.parameters()):
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-14)
    assert all(torch.equal(a, b) for a, b in zip(teacher_before, teacher.parameters()))
    # Not plain KD: the same step on raw logits ends elsewhere.
    plain = tiny_bert(1, 8, seed=2)
    opt = optimizer(plain)
    with torch.no_grad():
        t = forward(teacher, batch(1))
    s = forward(plain, batch(1))
    p = torch.log_softmax(t / 2.0, -1)
    (0.8 * 4.0 * (p.exp() * (p - torch.log_softmax(s / 2.0, -1))).sum(-1).mean()
     + 0.2 * torch.nn.functional.cross_entropy(s, batch(1)["labels"])).backward()
    opt.step()
    one_step = tiny_bert(1, 8, seed=2)
    Skd().step(context(teacher, one_step), batch(1), None)
    assert any(not torch.allclose(a, b) for a, b in zip(plain.parameters(), one_step.parameters()))


def test_two_classes_leave_only_a_vanishing_gradient():
    """On two logits the sphere is two points, ±m: the loss barely depends on the student."""
    generator = torch.Generator().manual_seed(0)
    teacher = torch.randn(16, 2, generator=generator, dtype=torch.float64)
    labels = torch.randint(0, 2, (16,), generator=generator)
    normalised = spherical(teacher, 2.0)
    torch.testing.assert_close(normalised.abs(), torch.full_like(normalised, 2.0), rtol=1e-5, atol=0)
    gradients = {}
    for classes in (2, 3):
        student = torch.randn(16, classes, generator=generator, dtype=torch.float64).requires_grad_()
        t = teacher if classes == 2 else torch.randn(16, 3, generator=generator, dtype=torch.float64)
        skd_loss(student, t, labels, alpha_kd=0.9, temperature=1.0, multiplier=2.0).backward()
        gradients[classes] = student.grad.norm().item()
    assert gradients[2] < 1e-4 * gradients[3], gradients


def test_regression_falls_back_to_kd_by_mean_squared_errors():
    teacher, student = tiny_bert(2, 16, seed=1, labels=1), tiny_bert(1, 8, seed=2, labels=1)
    ref_student = copy.deepcopy(student)
    ref_opt = optimizer(ref_student)
    b = batch(3, labels=1)
    teacher.eval()
    with torch.no_grad():
        t = forward(teacher, b)[:, 0]
    s = forward(ref_student, b)[:, 0]
    (0.8 * (s - t).square().mean() + 0.2 * (s - b["labels"]).square().mean()).backward()
    ref_opt.step()
    Skd().step(context(teacher, student), b, None)
    for got, expected in zip(student.parameters(), ref_student.parameters()):
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-14)
