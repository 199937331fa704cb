"""MetaDistil's step (pipeline/methods/metadistil.py) against the yardstick's round
(reference/metadistil.py: a deep-copied pilot student moved by one differentiable SGD step, the
teacher's gradient back through it, the real student step), whole steps in float64 with
dropout on: the students run eager attention everywhere, so that both sides draw the same
dropout masks in the same order and any train/eval mode out of place shows."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest
import torch
from accelerate import Accelerator
from test_lgtm_gradient import batch, tiny_bert
from transformers import get_linear_schedule_with_warmup

from pipeline.distill.context import StepContext
from pipeline.distill.meta_gradient import teacher_gradient
from pipeline.methods.metadistil import Metadistil, MetadistilSettings
from reference.metadistil import RoundSettings, meta_round

LOOP_TEACHER_RATE = 1e-3  # train.teacher_learning_rate, which MetaDistil's own rate replaces
SETTINGS = MetadistilSettings(alpha=0.5, beta=100.0, temperature=2.0, pilot_learning_rate=0.5,
                              teacher_learning_rate=2e-3, max_grad_norm=0.05)


def models(labels: int = 3, dropout: float = 0.1):
    """A 4-layer teacher and a 2-layer student of the same width (PKD compares their states):
    the skip map sends student layer 1 to teacher layer 2."""
    teacher = tiny_bert(4, 16, seed=1, labels=labels, dropout=dropout)
    student = tiny_bert(2, 16, seed=2, labels=labels, dropout=dropout)
    student.set_attn_implementation("eager")
    return teacher, student


def schedule(optimizer):
    return get_linear_schedule_with_warmup(optimizer, 0, 10)


def adamw(model, lr):
    return torch.optim.AdamW(model.parameters(), lr=lr, eps=1e-6, weight_decay=0.0)


def context(teacher, student, settings=SETTINGS) -> StepContext:
    """As the loop sets up a run: the teacher's optimizer at the rate the method asks for."""
    rate = Metadistil().teacher_learning_rate(SimpleNamespace(teacher_learning_rate=LOOP_TEACHER_RATE), settings)
    s_opt, t_opt = adamw(student, 1e-3), adamw(teacher, rate)
    return StepContext(student, s_opt, schedule(s_opt), teacher, t_opt, schedule(t_opt), Accelerator(cpu=True),
                       settings)


def params(model):
    return [p.detach().clone() for p in model.parameters()]


def run_reference(teacher, student, rounds, settings=SETTINGS, *, logits_mse=False):
    """The yardstick's rounds on copies of the models; their optimizers at the method's own rates."""
    teacher, student = copy.deepcopy(teacher), copy.deepcopy(student)
    round_settings = RoundSettings(alpha=settings.alpha, beta=settings.beta, temperature=settings.temperature,
                                   pilot_rate=settings.pilot_learning_rate, max_grad_norm=settings.max_grad_norm,
                                   logits_mse=logits_mse)
    t_opt, s_opt = adamw(teacher, settings.teacher_learning_rate), adamw(student, 1e-3)
    t_sched, s_sched = schedule(t_opt), schedule(s_opt)
    losses = [meta_round(teacher, student, b, [held], round_settings, teacher_optimizer=t_opt,
                         teacher_schedule=t_sched, student_optimizer=s_opt, student_schedule=s_sched)
              for b, held in rounds]
    return teacher, student, losses


def run_ours(teacher, student, rounds, settings=SETTINGS):
    ctx = context(teacher, student, settings)
    losses = [Metadistil().step(ctx, b, held) for b, held in rounds]
    return ctx, losses


def assert_same_parameters(got_model, expected_model):
    for (name, got), expected in zip(got_model.named_parameters(), expected_model.parameters()):
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-14, msg=name)


@pytest.mark.parametrize("labels", [3, 1], ids=["classification", "regression"])
def test_two_steps_are_the_authors_two_rounds(labels):
    """Two whole steps against the yardstick's two rounds: both models' parameters, and the
    losses. For one output the soft term is the authors' `--logits_mse`."""
    rounds = [(batch(1, labels=labels), batch(2, size=4, labels=labels)),
              (batch(3, labels=labels), batch(4, size=4, labels=labels))]
    teacher, student = models(labels)
    start_teacher, start_student = params(teacher), params(student)
    torch.manual_seed(7)
    ref_teacher, ref_student, ref_losses = run_reference(teacher, student, rounds, logits_mse=labels == 1)
    torch.manual_seed(7)
    ctx, losses = run_ours(teacher, student, rounds)
    assert_same_parameters(ctx.teacher, ref_teacher)
    assert_same_parameters(ctx.student, ref_student)
    for ours, (assume, held, real) in zip(losses, ref_losses):
        assert ours == pytest.approx({"pilot_loss": assume, "teacher_loss": held, "student_loss": real}, rel=1e-10)
    # Both models moved; the teacher's optimizer runs at the method's rate, on the schedule
    # (its value after two of ten steps).
    assert all(not torch.equal(a, b) for a, b in zip(start_teacher[-2:], params(ctx.teacher)[-2:]))
    assert all(not torch.equal(a, b) for a, b in zip(start_student[-2:], params(ctx.student)[-2:]))
    assert ctx.teacher_optimizer.param_groups[0]["lr"] == pytest.approx(SETTINGS.teacher_learning_rate * 0.8, rel=1e-15)


def test_the_teacher_rate_and_the_clipping_matter():
    """The golden test can fail: at the loop's teacher rate, or without clipping, the yardstick's
    round leaves both models elsewhere (both gradients are clipped at SETTINGS' norm)."""
    rounds = [(batch(1), batch(2, size=4))]
    teacher, student = models(dropout=0.0)
    variants = {key: run_reference(teacher, student, rounds, SETTINGS.model_copy(update={key: value}))
                for key, value in (("teacher_learning_rate", LOOP_TEACHER_RATE), ("max_grad_norm", 1e6))}
    ctx, _ = run_ours(teacher, student, rounds)
    for key, (ref_teacher, ref_student, _) in variants.items():
        for who, ours, theirs in (("teacher", ctx.teacher, ref_teacher), ("student", ctx.student, ref_student)):
            gap = max((a - b).abs().max().item() for a, b in zip(ours.parameters(), theirs.parameters()))
            assert gap > 1e-4, (key, who)


def test_the_teacher_learns_only_through_the_pilot():
    """With no distillation term (α = β = 0) the pilot does not depend on the teacher: its
    gradient is 0 and it stays put (AdamW without weight decay), while the student moves. And
    its gradient scales with the pilot's step, as a derivative through S' = S − η ∇L_s does."""
    teacher, student = models(dropout=0.0)
    b, held = batch(1), batch(2, size=4)
    kwargs = dict(alpha=0.5, beta=100.0, temperature=2.0)
    small, _, _ = teacher_gradient(teacher, student, b, held, pilot_learning_rate=1e-6, **kwargs)
    large, _, _ = teacher_gradient(teacher, student, b, held, pilot_learning_rate=1e-5, **kwargs)
    gap = torch.sqrt(sum(((10 * a - b) ** 2).sum() for a, b in zip(small, large)))
    assert 0 < gap < 1e-2 * torch.sqrt(sum((b**2).sum() for b in large))

    ctx = context(teacher, student, SETTINGS.model_copy(update={"alpha": 0.0, "beta": 0.0}))
    teacher_before, student_before = params(teacher), params(student)
    Metadistil().step(ctx, b, held)
    assert all(torch.equal(a, p) for a, p in zip(teacher_before, teacher.parameters()))
    assert any(not torch.equal(a, p) for a, p in zip(student_before, student.parameters()))


def test_regression_distils_where_the_authors_softmax_term_is_zero():
    """One output: the authors' softmax MSE is identically 0, so without PKD their teacher gets
    no gradient and stays put; with the logits' MSE (their `--logits_mse`, used here) it learns."""
    rounds = [(batch(1, labels=1), batch(2, size=4, labels=1))]
    teacher, student = models(labels=1, dropout=0.0)
    no_pkd = SETTINGS.model_copy(update={"beta": 0.0})
    ref_teacher, _, _ = run_reference(teacher, student, rounds, no_pkd, logits_mse=False)
    assert all(torch.equal(a, b) for a, b in zip(teacher.parameters(), ref_teacher.parameters()))
    before = params(teacher)
    ctx, _ = run_ours(teacher, student, rounds, no_pkd)
    assert any(not torch.equal(a, b) for a, b in zip(before, ctx.teacher.parameters()))


def test_teacher_gradient_leaves_the_models_as_they_were():
    teacher, student = models()
    student.set_attn_implementation("sdpa")
    teacher.train(), student.eval()
    before = params(teacher) + params(student)
    teacher_gradient(teacher, student, batch(1), batch(2), alpha=0.5, beta=100.0, temperature=2.0,
                     pilot_learning_rate=0.5)
    assert all(torch.equal(a, b) for a, b in zip(before, [*teacher.parameters(), *student.parameters()]))
    assert (teacher.training, student.training) == (True, False)
    assert all(p.grad is None for p in [*teacher.parameters(), *student.parameters()])
    assert student.config._attn_implementation == "sdpa"


def test_the_loop_builds_the_teachers_optimizer_at_the_methods_rate():
    """setup asks the method for its teacher's rate: MetaDistil's own, where the methods that
    train a teacher from its pre-trained checkpoint share train.teacher_learning_rate."""
    from conftest import REPO

    from pipeline.methods.lgtm import Lgtm
    from pipeline.settings.params import load_params
    from pipeline.training.loop import setup

    train = load_params(REPO / "params.yaml").train.model_copy(update={"teacher_learning_rate": LOOP_TEACHER_RATE})
    rates = {}
    for method, settings in ((Metadistil(), SETTINGS), (Lgtm(), None)):
        teacher, student = models()
        ctx = setup(method, student, teacher, train=train, settings=settings, student_learning_rate=1e-3,
                    total_steps=10, accelerator=Accelerator(cpu=True))
        rates[type(method).__name__] = ctx.teacher_optimizer.param_groups[0]["lr"]
    assert rates == {"Metadistil": SETTINGS.teacher_learning_rate, "Lgtm": LOOP_TEACHER_RATE}
