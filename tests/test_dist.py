"""DIST's step against the yardstick of its authors' loss (reference/dist.py) and a plain AdamW
step, in float64 on tiny BERTs; the two-class caveat; regression."""

from __future__ import annotations

import copy

import torch
from step_context import frozen_teacher_context, optimizer, params
from test_lgtm_gradient import batch, forward, tiny_bert
from transformers import get_linear_schedule_with_warmup

from pipeline.distill.correlation import dist_term
from pipeline.methods.dist import Dist, DistSettings
from reference.dist import DistObjective

# The reference's ImageNet weights (CE 1, DIST 2) at its CIFAR temperature form 'dist_t2'.
SETTINGS = DistSettings(ce_weight=1.0, kd_weight=2.0, beta=1.0, gamma=1.0, temperature=2.0)


def context(teacher, student, settings=SETTINGS):
    return frozen_teacher_context(teacher, student, settings)


def reference_steps(teacher, student, objective, seeds):
    opt = optimizer(student)
    sched = get_linear_schedule_with_warmup(opt, 0, 10)
    for seed in seeds:
        b = batch(seed)
        teacher.eval()
        student.train()
        opt.zero_grad()
        objective.step_loss(lambda x: forward(student, x), lambda x: forward(teacher, x), b, b["labels"]).backward()
        opt.step()
        sched.step()


def test_two_steps_are_the_references_kd_loss_and_a_plain_adamw_step():
    teacher, student = tiny_bert(2, 16, seed=1), tiny_bert(1, 8, seed=2)
    ctx = context(teacher, student)
    ref_teacher, ref_student = copy.deepcopy(teacher), copy.deepcopy(student)
    objective = DistObjective.from_kd_flag("dist_t2", ce_weight=1.0, kd_weight=2.0)
    reference_steps(ref_teacher, ref_student, objective, (1, 2))
    teacher_before = params(teacher)
    for seed in (1, 2):
        losses = Dist().step(ctx, batch(seed), None)
    assert torch.isfinite(torch.tensor(losses["student_loss"]))
    for got, expected in zip(student.parameters(), ref_student.parameters()):
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-14)
    assert all(torch.equal(a, b) for a, b in zip(teacher_before, teacher.parameters()))


def test_beta_and_gamma_weigh_the_references_two_relations():
    settings = DistSettings(ce_weight=0.5, kd_weight=1.0, beta=0.3, gamma=2.5, temperature=1.5)
    teacher, student = tiny_bert(2, 16, seed=1), tiny_bert(1, 8, seed=2)
    ref_student = copy.deepcopy(student)
    objective = DistObjective(ce_weight=0.5, kd_weight=1.0, beta=0.3, gamma=2.5, tau=1.5)
    reference_steps(teacher, ref_student, objective, (4,))
    Dist().step(context(teacher, student, settings), batch(4), None)
    for got, expected in zip(student.parameters(), ref_student.parameters()):
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-14)
    # Each relation matters: swapping their weights moves the student elsewhere.
    swapped = tiny_bert(1, 8, seed=2)
    Dist().step(context(teacher, swapped, settings.model_copy(update={"beta": 2.5, "gamma": 0.3})), batch(4), None)
    assert any(not torch.allclose(a, b) for a, b in zip(swapped.parameters(), student.parameters()))


def test_two_classes_leave_the_inter_class_term_without_gradient():
    generator = torch.Generator().manual_seed(0)
    teacher = torch.randn(16, 2, generator=generator, dtype=torch.float64) * 2
    student = (torch.randn(16, 2, generator=generator, dtype=torch.float64) * 2).requires_grad_()
    inter = dist_term(student, teacher, beta=1.0, gamma=0.0, temperature=1.0)
    (inter_gradient,) = torch.autograd.grad(inter, student)
    intra = dist_term(student, teacher, beta=0.0, gamma=1.0, temperature=1.0)
    (intra_gradient,) = torch.autograd.grad(intra, student)
    # Each example's correlation over two probabilities is ±1 (up to the reference's 1e-8).
    signs = torch.sign((torch.softmax(student, 1)[:, 0] - 0.5) * (torch.softmax(teacher, 1)[:, 0] - 0.5))
    torch.testing.assert_close(inter, 1 - signs.mean(), rtol=0, atol=1e-6)
    assert inter_gradient.norm() < 1e-5 * intra_gradient.norm(), (inter_gradient.norm(), intra_gradient.norm())


def test_regression_distils_by_mean_squared_errors():
    teacher, student = tiny_bert(2, 16, seed=1, labels=1), tiny_bert(1, 8, seed=2, labels=1)
    ref_student = copy.deepcopy(student)
    opt = optimizer(ref_student)
    b = batch(3, labels=1)
    teacher.eval()
    with torch.no_grad():
        t = forward(teacher, b)[:, 0]
    s = forward(ref_student, b)[:, 0]
    ((s - b["labels"]).square().mean() * 1.0 + (s - t).square().mean() * 2.0).backward()
    opt.step()
    Dist().step(context(teacher, student), b, None)
    for got, expected in zip(student.parameters(), ref_student.parameters()):
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-14)
