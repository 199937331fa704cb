"""PKD's step against the yardstick of its authors' loss (reference/pkd.py) and a plain AdamW
step, in float64 on tiny BERTs; its layer map; its patient term; regression."""

from __future__ import annotations

import copy

import pytest
import torch
from step_context import frozen_teacher_context, optimizer, params
from test_lgtm_gradient import batch, tiny_bert
from transformers import get_linear_schedule_with_warmup

from pipeline.distill.patience import default_layer_map, patient_loss
from pipeline.methods.pkd import Pkd, PkdSettings
from reference.pkd import patient_distance, pkd_step_loss

SETTINGS = PkdSettings(alpha_kd=0.7, temperature=3.0, beta=50.0, layer_map=None)


def context(teacher, student, settings=SETTINGS):
    return frozen_teacher_context(teacher, student, settings)


def inputs(b):
    return {k: b[k] for k in ("input_ids", "attention_mask", "token_type_ids")}


@pytest.mark.parametrize(("teacher", "student", "expected"), [
    (12, 6, [2, 4, 6, 8, 10]),  # the reference's PKD-skip (--fc_layer_idx 1,3,5,7,9, 0-based)
    (2, 1, []),                 # the demo: a one-layer student has only its last layer, left out
    (6, 6, [1, 2, 3, 4, 5]),
    (4, 3, [1, 2]),
    (24, 6, [4, 8, 12, 16, 20]),  # the reference's BERT-large teacher files
    (24, 3, [8, 16]),
    (2, 3, [1, 2]),             # a shallower teacher: spread over its layers
])
def test_default_layer_map(teacher, student, expected):
    assert default_layer_map(teacher, student) == expected


def test_patient_loss_is_the_references_on_the_mapped_cls_states():
    generator = torch.Generator().manual_seed(0)
    student = tuple(torch.randn(5, 7, 16, generator=generator, dtype=torch.float64) for _ in range(4))
    teacher = tuple(torch.randn(5, 7, 16, generator=generator, dtype=torch.float64) for _ in range(7))
    layer_map = [2, 3, 6]
    expected = patient_distance([student[j][:, 0] for j in (1, 2, 3)], [teacher[t][:, 0] for t in layer_map])
    torch.testing.assert_close(patient_loss(student, teacher, layer_map), expected, rtol=1e-14, atol=0)
    # Only the [CLS] position counts.
    moved = tuple(h.clone() for h in student)
    moved[1][:, 1:] += 1.0
    torch.testing.assert_close(patient_loss(moved, teacher, layer_map), expected, rtol=1e-14, atol=0)
    assert patient_loss(student, teacher, []).item() == 0.0
    half = tuple(h.to(torch.bfloat16) for h in student)
    assert patient_loss(half, tuple(h.to(torch.bfloat16) for h in teacher), layer_map).dtype == torch.float32
    with pytest.raises(ValueError, match="outside the teacher"):
        patient_loss(student, teacher, [7])
    with pytest.raises(ValueError, match="more entries"):
        patient_loss(student, teacher, [1, 2, 3, 4])
    with pytest.raises(ValueError, match="equal hidden sizes"):
        patient_loss(student, tuple(h[..., :8] for h in teacher), [1])


def reference_step(teacher, student, opt, sched, b, settings):
    teacher.eval()
    with torch.no_grad():
        t = teacher(**inputs(b), output_hidden_states=True)
    student.train()
    s = student(**inputs(b), output_hidden_states=True)
    # The authors' `fc_layer_idx` is 0-based over the encoder layers (no embeddings).
    teacher_indices = [layer - 1 for layer in default_layer_map(len(t.hidden_states) - 1, len(s.hidden_states) - 1)]
    loss = pkd_step_loss(s.hidden_states[1:], s.logits, b["labels"], t.hidden_states[1:], t.logits, teacher_indices,
                         tau=settings.temperature, alpha=settings.alpha_kd, beta=settings.beta)
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()


def test_two_steps_are_the_references_loss_and_a_plain_adamw_step():
    """Golden: a 4-layer teacher and a 2-layer student (map [2]), float64, two steps."""
    teacher, student = tiny_bert(4, 16, seed=1), tiny_bert(2, 16, seed=2)
    ctx = context(teacher, student)
    ref_teacher, ref_student = copy.deepcopy(teacher), copy.deepcopy(student)
    ref_opt = optimizer(ref_student)
    ref_sched = get_linear_schedule_with_warmup(ref_opt, 0, 10)
    teacher_before = params(teacher)
    for seed in (1, 2):
        reference_step(ref_teacher, ref_student, ref_opt, ref_sched, batch(seed), SETTINGS)
        losses = Pkd().step(ctx, batch(seed), None)
    assert losses["patient_loss"] > 0
    for got, expected in zip(student.parameters(), ref_student.parameters()):
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-14)
    assert all(torch.equal(a, b) for a, b in zip(teacher_before, teacher.parameters()))
    # The patient term is in the step: without it the student ends elsewhere.
    no_patience = tiny_bert(2, 16, seed=2)
    Pkd().step(context(teacher, no_patience, SETTINGS.model_copy(update={"beta": 0.0})), batch(1), None)
    one_step = tiny_bert(2, 16, seed=2)
    Pkd().step(context(teacher, one_step), batch(1), None)
    assert any(not torch.allclose(a, b) for a, b in zip(no_patience.parameters(), one_step.parameters()))


def test_demo_shape_default_is_kd_and_an_explicit_map_distils_the_last_layer():
    """Under the demo's shape (2 → 1 layers) the default map is empty; layer_map [2] distils
    the student's one layer from the teacher's last."""
    teacher = tiny_bert(2, 16, seed=1)
    plain, mapped = tiny_bert(1, 16, seed=2), tiny_bert(1, 16, seed=2)
    before = params(plain)
    assert Pkd().step(context(teacher, plain), batch(1), None)["patient_loss"] == 0.0
    losses = Pkd().step(context(teacher, mapped, SETTINGS.model_copy(update={"layer_map": [2]})), batch(1), None)
    assert losses["patient_loss"] > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, plain.parameters()))
    assert any(not torch.allclose(a, b) for a, b in zip(plain.parameters(), mapped.parameters()))


def test_regression_distils_by_mean_squared_errors():
    """One output: α · MSE(S, T) + (1 − α) · MSE(S, y) + β · PT, with no τ² (no softmax)."""
    teacher, student = tiny_bert(4, 16, seed=1, labels=1), tiny_bert(2, 16, seed=2, labels=1)
    ref_student = copy.deepcopy(student)
    ref_opt = optimizer(ref_student)
    b = batch(3, labels=1)
    teacher.eval()
    with torch.no_grad():
        t = teacher(**inputs(b), output_hidden_states=True)
    s = ref_student(**inputs(b), output_hidden_states=True)
    a = SETTINGS.alpha_kd
    pt = patient_distance([s.hidden_states[1][:, 0]], [t.hidden_states[2][:, 0]])
    loss = (a * (s.logits[:, 0] - t.logits[:, 0]).square().mean() + (1 - a) * (s.logits[:, 0] - b["labels"]).square().mean()
            + SETTINGS.beta * pt)
    loss.backward()
    ref_opt.step()
    Pkd().step(context(teacher, student), b, None)
    for got, expected in zip(student.parameters(), ref_student.parameters()):
        torch.testing.assert_close(got, expected, rtol=1e-10, atol=1e-14)
