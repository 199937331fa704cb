"""DML's step (pipeline/methods/dml.py) against the yardstick of its authors' update
(reference/dml.py), in float64 on tiny BERTs with dropout on: both models in train mode, the
teacher (net 0) first, the student's target recomputed after the teacher's update."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from test_lgtm_gradient import batch, forward, tiny_bert
from transformers import get_linear_schedule_with_warmup

from pipeline.distill.context import StepContext
from pipeline.methods.dml import Dml, DmlSettings
from reference.dml import guarded_kl, mutual_learning_iteration

REFERENCE = DmlSettings(kl_weight=1.0, temperature=1.0, init_classifier_to_zero=False)


def optimizer(model):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, eps=1e-6, weight_decay=0.0)
    return opt, get_linear_schedule_with_warmup(opt, 0, 10)


def context(settings=REFERENCE, labels: int = 3, dropout: float = 0.1) -> StepContext:
    student = tiny_bert(1, 8, seed=2, labels=labels, dropout=dropout)
    teacher = tiny_bert(2, 16, seed=1, labels=labels, dropout=dropout)
    return StepContext(student, *optimizer(student), teacher, *optimizer(teacher), Accelerator(cpu=True), settings)


def params(model):
    return [p.detach().clone() for p in model.parameters()]


def assert_same(got_models, expected_models):
    for got, expected in zip(got_models, expected_models):
        for (name, g), e in zip(got.named_parameters(), expected.parameters()):
            torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-14, msg=name)


def test_whole_steps_match_the_reference_update():
    """Two whole steps; the reference's KL with its 1e-8 guard set to 0 (the exact KL)."""
    ctx = context()
    teacher, student = copy.deepcopy(ctx.teacher), copy.deepcopy(ctx.student)
    (t_opt, t_sched), (s_opt, s_sched) = optimizer(teacher), optimizer(student)
    teacher.train(), student.train()
    networks = [lambda b: forward(teacher, b), lambda b: forward(student, b)]
    parameters = [list(teacher.parameters()), list(student.parameters())]
    for i in range(2):
        b = batch(10 + i)
        torch.manual_seed(i)
        expected = mutual_learning_iteration(networks, parameters, [t_opt, s_opt], b, b["labels"], guard=0.0)
        t_sched.step(), s_sched.step()
        torch.manual_seed(i)
        losses = Dml().step(ctx, b, None)
        assert losses == pytest.approx({"teacher_loss": expected[0], "student_loss": expected[1]}, rel=1e-12)
    assert_same([ctx.teacher, ctx.student], [teacher, student])


def test_the_student_learns_from_the_teacher_after_its_update():
    """The golden test can tell: with the teacher's pre-update logits the student ends elsewhere."""
    ctx = context(dropout=0.0)
    student = copy.deepcopy(ctx.student)
    s_opt, _ = optimizer(student)
    b = batch(1)
    with torch.no_grad():
        stale = forward(ctx.teacher, b)
    s = forward(student, b)
    (F.cross_entropy(s, b["labels"]) + guarded_kl(s, stale, guard=0.0)).backward()
    s_opt.step()
    Dml().step(ctx, b, None)
    gaps = [(a - e).abs().max().item() for a, e in zip(ctx.student.parameters(), student.parameters())]
    assert max(gaps) > 1e-6


def test_the_references_1e_8_guard_is_float32_round_off():
    """The departure: its 1e-8 guard moves the loss by about 1e-8 per class (absolute)."""
    generator = torch.Generator().manual_seed(0)
    logits1, logits2 = (torch.randn(6, 3, dtype=torch.float64, generator=generator) for _ in range(2))
    exact, guarded = guarded_kl(logits1, logits2, guard=0.0), guarded_kl(logits1, logits2)
    assert 0 < abs(exact - guarded) < 3 * 3e-8


@pytest.mark.parametrize("labels", [3, 1])
def test_weight_temperature_and_regression(labels):
    """With w = 0.5 and τ = 2: each model on task loss + w · soft term toward the other; on one
    output (STS-B) the task loss is the MSE on the labels and the soft term the MSE toward the
    peer's output (a softmax over one output would carry nothing)."""
    settings = DmlSettings(kl_weight=0.5, temperature=2.0, init_classifier_to_zero=False)
    ctx = context(settings, labels=labels, dropout=0.0)
    teacher, student = copy.deepcopy(ctx.teacher), copy.deepcopy(ctx.student)
    (t_opt, _), (s_opt, _) = optimizer(teacher), optimizer(student)
    b = batch(3, labels=labels)

    def loss(own, peer):
        if labels == 1:
            return F.mse_loss(own.squeeze(-1), b["labels"]) + 0.5 * F.mse_loss(own.squeeze(-1), peer.squeeze(-1))
        p = torch.softmax(peer / 2.0, -1)
        kl = (p * (torch.log(p) - torch.log_softmax(own / 2.0, -1))).sum(-1).mean()
        return F.cross_entropy(own, b["labels"]) + 0.5 * kl

    for own, peer, opt in ((teacher, student, t_opt), (student, teacher, s_opt)):
        with torch.no_grad():
            target = forward(peer, b)
        loss(forward(own, b), target).backward()
        opt.step()
    Dml().step(ctx, b, None)
    assert_same([ctx.teacher, ctx.student], [teacher, student])


def test_both_models_change():
    ctx = context()
    teacher_before, student_before = params(ctx.teacher), params(ctx.student)
    losses = Dml().step(ctx, batch(1), None)
    assert set(losses) == {"teacher_loss", "student_loss"}
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    assert any(not torch.equal(a, b) for a, b in zip(teacher_before, ctx.teacher.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(student_before, ctx.student.parameters()))
    assert ctx.teacher.training and ctx.student.training
