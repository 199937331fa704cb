"""TAKD and RCO: plain KD steps from the teacher their extra stage makes (an assistant; the
anchors of the teacher's fine-tuning), checked in float64 against the KD loss written out and
a plain AdamW step, and the schedules that decide which teacher a step learns from."""

from __future__ import annotations

import copy

import pytest
import torch
from step_context import frozen_teacher_context, params
from test_lgtm_gradient import batch, forward, tiny_bert
from transformers import get_linear_schedule_with_warmup

from pipeline.distill.anchors import AnchorRoute
from pipeline.methods.rco import Rco, RcoSettings
from pipeline.methods.takd import Takd, TakdSettings, assistant_layers
from pipeline.training.loop import anchor_steps


def kd_reference_step(student, teacher, b, *, alpha, tau, optimizer):
    """α · KL_τ(T ‖ S) + (1 − α) · CE, the teacher in eval mode, then one optimizer step."""
    teacher.eval()
    with torch.no_grad():
        p = torch.softmax(forward(teacher, b) / tau, -1)
    student.train()
    s = forward(student, b)
    kl = (p * (torch.log(p) - torch.log_softmax(s / tau, -1))).sum(-1).mean()
    (alpha * kl + (1 - alpha) * torch.nn.functional.cross_entropy(s, b["labels"])).backward()
    optimizer.step()
    optimizer.zero_grad()


def student_context(teacher, settings, total_steps: int):
    return frozen_teacher_context(teacher, tiny_bert(1, 8, seed=2), settings, total_steps)


@pytest.mark.parametrize(("setting", "teacher", "student", "expected"),
                         [(None, 12, 6, 9), (None, 2, 1, 2), (None, 6, 6, 6), (None, 4, 1, 3), (5, 12, 6, 5)])
def test_the_assistant_is_halfway_between_teacher_and_student_unless_set(setting, teacher, student, expected):
    assert assistant_layers(setting, teacher, student) == expected


def test_a_takd_step_is_a_kd_step_from_the_assistant():
    assistant = tiny_bert(2, 16, seed=1)
    settings = TakdSettings(alpha_kd=0.7, temperature=2.0, assistant_layers=None)
    ctx = student_context(assistant, settings, 10)
    student = copy.deepcopy(ctx.student)
    optimizer = torch.optim.AdamW(student.parameters(), lr=1e-3, eps=1e-6, weight_decay=0.0)
    scheduler = get_linear_schedule_with_warmup(optimizer, 0, 10)
    before = params(assistant)
    for i in range(2):
        kd_reference_step(student, assistant, batch(i), alpha=0.7, tau=2.0, optimizer=optimizer)
        scheduler.step()
        Takd().step(ctx, batch(i), None)
    for got, expected in zip(ctx.student.parameters(), student.parameters()):
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-14)
    assert all(torch.equal(a, b) for a, b in zip(before, assistant.parameters()))  # the assistant is frozen


@pytest.mark.parametrize(("steps", "anchors", "expected"), [(72, 4, [18, 36, 54, 72]), (10, 3, [4, 7, 10]),
                                                             (126, 1, [126]), (3, 4, [1, 2, 3, 3])])
def test_anchors_end_equal_shares_of_the_teachers_steps_the_last_at_its_end(steps, anchors, expected):
    assert anchor_steps(steps, anchors) == expected


def test_the_student_moves_to_the_next_anchor_after_each_equal_share_of_its_steps():
    route = AnchorRoute([torch.nn.Linear(1, 1) for _ in range(4)])
    chosen = [next(k for k, anchor in enumerate(route) if anchor is route.anchor_at(done, 10)) for done in range(10)]
    assert chosen == [0, 0, 0, 1, 1, 2, 2, 2, 3, 3]  # steps 1-3, 4-5, 6-8, 9-10


def test_rco_steps_are_kd_steps_from_each_anchor_in_turn():
    """Four steps along two anchors: the first two from anchor 1, the last two from anchor 2."""
    anchors = [tiny_bert(2, 16, seed=seed) for seed in (1, 3)]
    settings = RcoSettings(alpha_kd=0.6, temperature=1.5, anchors=2)
    ctx = student_context(AnchorRoute(anchors), settings, 4)
    student = copy.deepcopy(ctx.student)
    optimizer = torch.optim.AdamW(student.parameters(), lr=1e-3, eps=1e-6, weight_decay=0.0)
    scheduler = get_linear_schedule_with_warmup(optimizer, 0, 4)
    for i, anchor in enumerate([anchors[0], anchors[0], anchors[1], anchors[1]]):
        kd_reference_step(student, anchor, batch(i), alpha=0.6, tau=1.5, optimizer=optimizer)
        scheduler.step()
        Rco().step(ctx, batch(i), None)
        for got, expected in zip(ctx.student.parameters(), student.parameters()):
            torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-14)


def test_rco_from_the_wrong_anchor_would_differ():
    """The check above can fail: one step from anchor 2 instead of anchor 1 moves the student
    elsewhere."""
    anchors = [tiny_bert(2, 16, seed=seed) for seed in (1, 3)]
    ctx = student_context(AnchorRoute(anchors), RcoSettings(alpha_kd=0.6, temperature=1.5, anchors=2), 4)
    student = copy.deepcopy(ctx.student)
    optimizer = torch.optim.AdamW(student.parameters(), lr=1e-3, eps=1e-6, weight_decay=0.0)
    kd_reference_step(student, anchors[1], batch(0), alpha=0.6, tau=1.5, optimizer=optimizer)
    Rco().step(ctx, batch(0), None)
    assert any(not torch.allclose(a, b) for a, b in zip(ctx.student.parameters(), student.parameters()))
