"""Each method's step updates exactly the models it should, the way docs/method.md says."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from accelerate import Accelerator
from conftest import REPO
from test_lgtm_gradient import batch, forward, tiny_bert
from transformers import get_linear_schedule_with_warmup

from pipeline.distill.anchors import AnchorRoute
from pipeline.distill.context import StepContext
from pipeline.distill.lgtm_gradient import teacher_gradient
from pipeline.methods.lgtm import LgtmSettings
from pipeline.methods.registry import METHODS, STEPS
from pipeline.settings.params import load_params

# Every method's knobs are a subset of LGTM's; each method reads its own.
SETTINGS = LgtmSettings(alpha_kd=0.8, t_alpha_kd=0.4, temperature=1.5, init_classifier_to_zero=False, radius=0.01,
                        mode="fast", influence="finite_difference", influence_every=None)


def context(teacher_trains: bool, settings: LgtmSettings = SETTINGS) -> StepContext:
    student, teacher = tiny_bert(1, 8, seed=2), tiny_bert(2, 16, seed=1)

    def optimizer(model):
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, eps=1e-6, weight_decay=0.0)
        return opt, get_linear_schedule_with_warmup(opt, 0, 10)

    s_opt, s_sched = optimizer(student)
    t_opt, t_sched = optimizer(teacher) if teacher_trains else (None, None)
    return StepContext(student, s_opt, s_sched, teacher, t_opt, t_sched, Accelerator(cpu=True), settings)


def params(model):
    return [p.detach().clone() for p in model.parameters()]


def changed(before, model):
    return any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


@pytest.mark.parametrize(("name", "teacher_changes"), [("finetune", False), ("kd", False), ("prokt", True), ("lgtm", True)])
def test_which_models_each_method_updates(name, teacher_changes):
    info = METHODS[name]
    ctx = context(info.trains_teacher)
    teacher_before, student_before = params(ctx.teacher), params(ctx.student)
    losses = STEPS[name]().step(ctx, batch(1), batch(2) if info.uses_held_out else None)
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    assert changed(student_before, ctx.student)
    assert changed(teacher_before, ctx.teacher) == teacher_changes


def test_every_method_has_a_step_and_its_step_changes_the_models_it_trains():
    """One step of each registered method, with its section of the committed params.yaml (the
    demo preset), on tiny float64 BERTs of one width: the student always moves, the teacher (with
    any module the method adds to it) exactly when the registry says it trains."""
    assert set(STEPS) == set(METHODS)
    params_file = load_params(REPO / "params.yaml")
    for name, info in METHODS.items():
        step, settings = STEPS[name](), params_file.method_settings(name)
        student, teacher = tiny_bert(1, 16, seed=2), tiny_bert(2, 16, seed=1)
        if info.teacher == "anchors":
            teacher = AnchorRoute([teacher])
        teacher = step.prepare_teacher(teacher, settings)

        def optimizer(model):
            opt = torch.optim.AdamW(model.parameters(), lr=1e-3, eps=1e-6, weight_decay=0.0)
            return opt, get_linear_schedule_with_warmup(opt, 0, 10)

        s_opt, s_sched = optimizer(student)
        t_opt, t_sched = optimizer(teacher) if info.trains_teacher else (None, None)
        ctx = StepContext(student, s_opt, s_sched, teacher, t_opt, t_sched, Accelerator(cpu=True), settings, 10)
        teacher_before, student_before = params(teacher), params(student)
        losses = step.step(ctx, batch(1), batch(2) if info.uses_held_out else None)
        assert losses and all(math.isfinite(v) for v in losses.values()), name
        assert changed(student_before, student), name
        assert changed(teacher_before, teacher) == info.trains_teacher, name


def test_kd_student_step_is_one_adamw_step_on_the_kd_loss_from_an_eval_mode_teacher():
    ctx = context(False)
    reference_student = copy.deepcopy(ctx.student)
    reference_optimizer = torch.optim.AdamW(reference_student.parameters(), lr=1e-3, eps=1e-6, weight_decay=0.0)
    b = batch(1)
    ctx.teacher.eval()
    with torch.no_grad():
        teacher_logits = forward(ctx.teacher, b)
    log_p = torch.log_softmax(teacher_logits / 1.5, -1)
    s = forward(reference_student, b)
    kl = (log_p.exp() * (log_p - torch.log_softmax(s / 1.5, -1))).sum(-1).mean()
    (0.8 * kl + 0.2 * torch.nn.functional.cross_entropy(s, b["labels"])).backward()
    reference_optimizer.step()
    STEPS["kd"]().step(ctx, b, None)
    for got, expected in zip(ctx.student.parameters(), reference_student.parameters()):
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-14)


def kl(target_logits, logits, tau):
    """KL_τ(target ‖ logits), the batch mean, written out."""
    p = torch.softmax(target_logits / tau, -1)
    return (p * (torch.log(p) - torch.log_softmax(logits / tau, -1))).sum(-1).mean()


def test_prokt_step_is_a_teacher_step_toward_the_student_then_kd_from_the_moved_teacher():
    """Golden: the whole ProKT step in float64 against its loss formulas and two plain AdamW
    steps, teacher first (student logits from a no-grad eval-mode forward), then the student."""
    ctx = context(True)
    teacher, student = copy.deepcopy(ctx.teacher), copy.deepcopy(ctx.student)
    teacher_optimizer, student_optimizer = (torch.optim.AdamW(m.parameters(), lr=1e-3, eps=1e-6, weight_decay=0.0)
                                            for m in (teacher, student))
    b, tau = batch(1), 1.5
    student.eval()
    with torch.no_grad():
        s = forward(student, b)
    teacher.train()
    t = forward(teacher, b)
    (0.4 * kl(s, t, tau) + 0.6 * torch.nn.functional.cross_entropy(t, b["labels"])).backward()
    teacher_optimizer.step()
    teacher.eval()
    with torch.no_grad():
        t = forward(teacher, b)
    student.train()
    s = forward(student, b)
    (0.8 * kl(t, s, tau) + 0.2 * torch.nn.functional.cross_entropy(s, b["labels"])).backward()
    student_optimizer.step()

    STEPS["prokt"]().step(ctx, b, None)
    for got, expected in zip([*ctx.teacher.parameters(), *ctx.student.parameters()],
                             [*teacher.parameters(), *student.parameters()]):
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-14)


def test_lgtm_teacher_step_applies_teacher_gradient_with_the_current_learning_rate():
    ctx = context(True)
    reference = copy.deepcopy(ctx.teacher)
    b, held = batch(1), batch(2)
    eta = ctx.teacher_scheduler.get_last_lr()[0]
    gradient = teacher_gradient(ctx.teacher, ctx.student, ctx.student_optimizer, b, held, alpha_kd=0.8,
                                t_alpha_kd=0.4, temperature=1.5, eta=eta, radius=0.01, mode="fast",
                                influence="finite_difference")
    reference_optimizer = torch.optim.AdamW(reference.parameters(), lr=1e-3, eps=1e-6, weight_decay=0.0)
    for p, g in zip(reference.parameters(), gradient):
        p.grad = g
    reference_optimizer.step()
    STEPS["lgtm"]().step(ctx, b, held)
    for got, expected in zip(ctx.teacher.parameters(), reference.parameters()):
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-14)


def test_fast_lgtm_steps_are_the_authors_steps_on_dropout_free_models():
    """Three whole LGTM steps (teacher and student updates) in the fast mode and in the
    authors' modes agree to float64 round-off when train and eval mode agree."""
    runs = {}
    for mode in ("fast", "faithful"):
        ctx = context(True, SETTINGS.model_copy(update={"mode": mode}))
        for i in range(3):
            losses = STEPS["lgtm"]().step(ctx, batch(10 + i), batch(20 + i, size=4))
        runs[mode] = (params(ctx.teacher), params(ctx.student), losses)
    # Round-off only: parameters are O(0.01..1) and every difference is below 1e-11 in absolute
    # terms (measured: 5e-17 at most). AdamW can amplify round-off where a gradient entry is
    # near zero (lr / eps times it: about 1e-13), so the bound keeps room for other kernels. An
    # absolute bound alone: a relative one would let the O(1) entries drift by far more.
    for fast, faithful in zip(runs["fast"][0] + runs["fast"][1], runs["faithful"][0] + runs["faithful"][1]):
        torch.testing.assert_close(fast, faithful, rtol=0, atol=1e-11)
    assert runs["fast"][2] == pytest.approx(runs["faithful"][2], rel=1e-10)
