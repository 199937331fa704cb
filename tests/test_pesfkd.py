"""PESF-KD's step (pipeline/methods/pesfkd.py) against the yardstick's model, loss and update
(reference/pesfkd.py), in float64 on tiny BERTs with dropout on; which models it trains;
regression; and the adapted teacher's round trip through Accelerate's checkpoints."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from test_lgtm_gradient import batch, tiny_bert
from transformers import get_linear_schedule_with_warmup

from pipeline.distill.adapter import AdaptedTeacher
from pipeline.distill.context import StepContext
from pipeline.methods.pesfkd import Pesfkd, PesfkdSettings
from reference import pesfkd as reference

# The reference's defaults, with a bottleneck of 4 for a 16-wide teacher.
SETTINGS = PesfkdSettings(alpha_kd=0.5, temperature=5.0, beta=100.0, adapter_size=4, freeze_teacher_encoder=False,
                          max_grad_norm=1.0)
WEIGHTS = reference.PesfWeights(alpha=0.5, beta=100.0, temperature=5.0, max_grad_norm=1.0)


def optimizer(model):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, eps=1e-6, weight_decay=0.0)
    return opt, get_linear_schedule_with_warmup(opt, 0, 10)


def context(settings=SETTINGS, labels: int = 3, dropout: float = 0.1, student_layers: int = 2) -> StepContext:
    student = tiny_bert(student_layers, 16, seed=2, labels=labels, dropout=dropout)
    torch.manual_seed(3)  # the adapter's initialisation
    teacher = Pesfkd().prepare_teacher(tiny_bert(4, 16, seed=1, labels=labels, dropout=dropout), settings)
    return StepContext(student, *optimizer(student), teacher, *optimizer(teacher), Accelerator(cpu=True), settings)


def reference_models(ctx: StepContext):
    """The reference's teacher (its adapter holding ours) and student, on copies of the weights."""
    adapted, student = copy.deepcopy(ctx.teacher), copy.deepcopy(ctx.student)
    labels = student.config.num_labels
    adapter = reference.LogitAdapter(16, SETTINGS.adapter_size, labels).to(torch.float64)
    adapter.load_state_dict(adapted.adapter.state_dict())
    t_model = reference.PooledClassifier(adapted.model.bert, adapted.model.classifier,
                                         adapted.model.dropout.p, adapter)
    s_model = reference.PooledClassifier(student.bert, student.classifier, student.dropout.p)
    t_model.eval(), s_model.eval()  # as `from_pretrained` leaves them
    return t_model, s_model


def assert_same_weights(adapted: AdaptedTeacher, student, t_model, s_model):
    """Key by key: the wrapper's keys are the reference's, behind `model.` for the BERT part."""
    expected = t_model.state_dict()
    got = {key.removeprefix("model."): value for key, value in adapted.state_dict().items()}
    assert set(got) == set(expected)
    for key, value in got.items():
        torch.testing.assert_close(value, expected[key], rtol=1e-10, atol=1e-14, msg=key)
    expected = s_model.state_dict()
    assert set(student.state_dict()) == set(expected)
    for key, value in student.state_dict().items():
        torch.testing.assert_close(value, expected[key], rtol=1e-10, atol=1e-14, msg=key)


def test_whole_steps_match_the_reference_update():
    """Two whole steps at the reference's defaults (α 0.5, τ 5, β 100, student clipped at 1)."""
    ctx = context()
    t_model, s_model = reference_models(ctx)
    t_updater, s_updater = optimizer(t_model), optimizer(s_model)
    for i in range(2):
        b = batch(10 + i)
        torch.manual_seed(i)
        expected, norm = reference.training_step(t_model, s_model, b, WEIGHTS, s_updater, t_updater)
        assert norm > WEIGHTS.max_grad_norm and expected["pkd_loss"] > 0  # clipping and PKD both take part
        torch.manual_seed(i)
        losses = Pesfkd().step(ctx, b, None)
        assert losses == pytest.approx(expected, rel=1e-12)
    assert not ctx.teacher.training and ctx.student.training
    assert_same_weights(ctx.teacher, ctx.student, t_model, s_model)


def changed(before: dict, module) -> set[str]:
    return {key for key, value in module.state_dict().items() if not torch.equal(before[key], value)}


def snapshot(module) -> dict:
    return {key: value.clone() for key, value in module.state_dict().items()}


@pytest.mark.parametrize("freeze", [False, True])
def test_which_models_train(freeze):
    """Released code: student, the whole teacher and the adapter. Frozen encoder: the
    teacher's classifier and the adapter, not its encoder."""
    ctx = context(SETTINGS.model_copy(update={"freeze_teacher_encoder": freeze}))
    teacher, student = snapshot(ctx.teacher), snapshot(ctx.student)
    losses = Pesfkd().step(ctx, batch(1), None)
    assert all(torch.isfinite(torch.tensor(v)) for v in losses.values())
    moved = changed(teacher, ctx.teacher)
    assert changed(student, ctx.student)
    assert any(key.startswith("adapter.") for key in moved)
    assert {"model.classifier.weight", "model.classifier.bias"} <= moved
    assert any(key.startswith("model.bert.encoder.") for key in moved) != freeze


def test_the_references_freeze_line_freezes_nothing():
    t_model, _ = reference_models(context())
    groups = reference.teacher_parameter_groups(t_model, weight_decay=0.0, lr=1e-5)
    assert sorted(map(id, groups[0]["params"] + groups[1]["params"])) == sorted(map(id, t_model.parameters()))
    assert all(p.requires_grad for p in t_model.parameters())


def test_regression_pulls_both_outputs_together():
    """One output: the reference's soft term is identically 0; here it is MSE(T, S), into both."""
    settings = SETTINGS.model_copy(update={"beta": 0.0})
    ctx = context(settings, labels=1, dropout=0.0)
    t_model, s_model = reference_models(ctx)
    b = batch(4, labels=1)
    their_soft = reference.pesf_losses(t_model, s_model, b, replace(WEIGHTS, beta=0.0))["soft_loss"]
    assert their_soft.item() == 0.0

    (t_opt, _), (s_opt, _) = optimizer(t_model), optimizer(s_model)
    s_model.train()
    inputs = {k: b[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    t, s = t_model(**inputs).logits, s_model(**inputs).logits
    soft = F.mse_loss(t, s)
    assert soft.item() > 0
    task = F.mse_loss(s.view(-1), b["labels"]) + F.mse_loss(t.view(-1), b["labels"])
    (0.5 * soft + 0.5 * task).backward()
    torch.nn.utils.clip_grad_norm_(s_model.parameters(), 1.0)
    s_opt.step(), t_opt.step()
    losses = Pesfkd().step(ctx, b, None)
    assert losses["soft_loss"] == pytest.approx(soft.item(), rel=1e-12)
    assert_same_weights(ctx.teacher, ctx.student, t_model, s_model)


def test_adapted_teacher_round_trips_through_accelerate_checkpoints(tmp_path):
    ctx = context()
    Pesfkd().step(ctx, batch(1), None)  # trained weights, not the initial ones
    accelerator = Accelerator(cpu=True)
    teacher, teacher_optimizer = accelerator.prepare(ctx.teacher, ctx.teacher_optimizer)
    accelerator.save_state(str(tmp_path / "state"))
    torch.manual_seed(99)
    other = Pesfkd().prepare_teacher(tiny_bert(4, 16, seed=5), SETTINGS)
    assert not torch.equal(other.adapter.l1[0].weight, teacher.adapter.l1[0].weight)
    restore = Accelerator(cpu=True)
    other, other_optimizer = restore.prepare(other, optimizer(other)[0])
    restore.load_state(str(tmp_path / "state"))
    saved = teacher.state_dict()
    assert any(key.startswith("adapter.") for key in saved)
    assert set(other.state_dict()) == set(saved)
    assert all(torch.equal(value, saved[key]) for key, value in other.state_dict().items())
    with torch.no_grad():
        b = batch(2)
        inputs = {k: b[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
        assert torch.equal(other.eval()(**inputs).logits, teacher.eval()(**inputs).logits)


def test_adapter_width_and_pkd_edge_cases():
    """null bottleneck: hidden / 12 (64 at BERT-base's 768). PKD: 0 for a one-layer student (no
    intermediate layer); a teacher shallower than the student is mapped as PKD maps it
    (pipeline/methods/pkd.py); β = 0 skips it."""
    assert AdaptedTeacher(tiny_bert(1, 48, seed=1), None).adapter.adapter[0].out_features == 4
    assert AdaptedTeacher(tiny_bert(1, 16, seed=1), 7).adapter.adapter[0].out_features == 7
    assert Pesfkd().step(context(student_layers=1), batch(1), None)["pkd_loss"] == 0.0
    assert Pesfkd().step(context(student_layers=5), batch(1), None)["pkd_loss"] > 0.0
    assert set(Pesfkd().step(context(SETTINGS.model_copy(update={"beta": 0.0})), batch(1), None)) == {
        "loss", "soft_loss", "task_loss"}
