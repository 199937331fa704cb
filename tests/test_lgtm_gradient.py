"""`teacher_gradient` against the reference LGTM step (reference/lgtm_authors.py: deep copies,
the look-ahead student's AdamW step out of place, two teacher forward+backward passes), in
float64. Tiny
BERTs with dropout 0, so that train and eval mode agree and the fast mode can be compared
too; tests/test_fidelity.py compares whole steps with dropout."""

from __future__ import annotations

import copy

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from pipeline.distill.lgtm_gradient import teacher_gradient
from pipeline.distill.virtual_step import virtual_step
from pipeline.optim import AdamWHF
from reference.lgtm_authors import KdWeights, teacher_gradient_on_copies

ALPHA, ALPHA_T, TAU, ETA = 0.7, 0.4, 2.0, 3e-3
LOSSES = dict(alpha_kd=ALPHA, t_alpha_kd=ALPHA_T, temperature=TAU, eta=ETA)
SETTINGS = dict(**LOSSES, radius=0.01)  # the authors' r
FAST = dict(mode="fast", influence="finite_difference")


def authors_gradient(teacher, student, optimizer, b, held, eta=ETA):
    """g = g_t − η·h by the reference LGTM step, on copies (their r: 0.01)."""
    return teacher_gradient_on_copies(teacher, student, optimizer, b, held, KdWeights(ALPHA, ALPHA_T, TAU), eta=eta)


def tiny_bert(layers: int, hidden: int, seed: int, *, labels: int = 3, dropout: float = 0.0, dtype=torch.float64):
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=50, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
        intermediate_size=2 * hidden, max_position_embeddings=32, num_labels=labels,
        hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout,
    )
    return BertForSequenceClassification(config).to(dtype)


def batch(seed: int, size: int = 6, length: int = 9, labels: int = 3) -> dict:
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(5, 50, (size, length), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[0, -3:] = 0  # one padded example
    if labels == 1:
        targets = torch.rand(size, generator=generator, dtype=torch.float64) * 5
    else:
        targets = torch.randint(0, labels, (size,), generator=generator)
    return {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": torch.zeros_like(input_ids), "labels": targets}


def forward(model, b):
    return model(input_ids=b["input_ids"], attention_mask=b["attention_mask"], token_type_ids=b["token_type_ids"]).logits


def optimizer_with_history(student, steps: int, weight_decay: float = 0.01, kind: str = "adamw_hf",
                           fused: bool = True):
    settings = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=weight_decay)
    if kind == "adamw_hf":
        optimizer = AdamWHF(student.parameters(), **settings)
    else:
        optimizer = torch.optim.AdamW(student.parameters(), **settings, fused=fused)
    for i in range(steps):  # real moments and step counts, as mid-training
        forward(student, batch(100 + i)).square().mean().backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return optimizer


def snapshot(student, teacher, optimizer):
    params = [p.detach().clone() for p in [*student.parameters(), *teacher.parameters()]]
    return params, copy.deepcopy(optimizer.state_dict())


def assert_close_per_parameter(model, got, expected, **tolerance):
    assert len(got) == len(expected) == len(list(model.parameters()))
    for (name, _), g, e in zip(model.named_parameters(), got, expected):
        torch.testing.assert_close(g, e, msg=name, **tolerance)


@pytest.mark.parametrize("mode", ["fast", "faithful"])
@pytest.mark.parametrize("history", [0, 3])
def test_matches_the_literal_algorithm_in_float64(mode, history):
    teacher, student = tiny_bert(2, 16, seed=1), tiny_bert(1, 8, seed=2)
    optimizer = optimizer_with_history(student, history)
    b, held = batch(1), batch(2, size=4)
    expected = authors_gradient(teacher, student, optimizer, b, held)
    without_influence = authors_gradient(teacher, student, optimizer, b, held, eta=0.0)
    # The influence term is really there, and large enough to be checked.
    assert sum((e - w).abs().sum() for e, w in zip(expected, without_influence)) > 1e-6
    got = teacher_gradient(teacher, student, optimizer, b, held, mode=mode, influence="finite_difference", **SETTINGS)
    assert_close_per_parameter(teacher, got, expected, rtol=1e-9, atol=1e-12)


def test_regression_the_authors_distil_nothing_and_the_influence_here_is_the_mse_s():
    """On one output the authors' KL is 0 (a softmax over one logit is constant): their influence
    term vanishes. Here the soft-target term is the MSE, whose influence is the finite
    difference's limit, as for classification."""
    teacher, student = tiny_bert(1, 8, seed=1, labels=1), tiny_bert(1, 8, seed=2, labels=1)
    optimizer = optimizer_with_history(student, 2)
    b, held = batch(1, labels=1), batch(2, labels=1)
    authors = authors_gradient(teacher, student, optimizer, b, held)
    authors_without = authors_gradient(teacher, student, optimizer, b, held, eta=0.0)
    assert all(torch.equal(a, w) for a, w in zip(authors, authors_without))
    settings = {**SETTINGS, "eta": 1.0}
    exact = teacher_gradient(teacher, student, optimizer, b, held, mode="faithful", influence="jvp", **settings)
    no_influence = teacher_gradient(teacher, student, optimizer, b, held, **{**settings, "eta": 0.0}, **FAST)
    approximate = teacher_gradient(teacher, student, optimizer, b, held, **{**settings, "radius": 1e-3}, **FAST)
    assert sum((e - n).abs().sum() for e, n in zip(exact, no_influence)) > 1e-6
    assert_close_per_parameter(teacher, approximate, exact, rtol=1e-5, atol=1e-9)


def test_jvp_influence_is_the_limit_of_the_finite_difference():
    """|FD(r) − exact| = O(r²): shrinking r tenfold shrinks the gap about a hundredfold."""
    teacher, student = tiny_bert(2, 16, seed=1), tiny_bert(1, 8, seed=2)
    optimizer = optimizer_with_history(student, 2)
    b, held = batch(1), batch(2, size=4)
    settings = {**SETTINGS, "eta": 1.0}  # g_t cancels in the differences below: only h is compared
    exact = teacher_gradient(teacher, student, optimizer, b, held, mode="fast", influence="jvp", **settings)

    def gap(radius):
        approximate = teacher_gradient(teacher, student, optimizer, b, held, **{**settings, "radius": radius}, **FAST)
        return torch.sqrt(sum(((a - e) ** 2).sum() for a, e in zip(approximate, exact))).item()

    coarse, fine = gap(1.0), gap(0.1)
    assert fine > 0 and 50 < coarse / fine < 200, (coarse, fine)


@pytest.mark.parametrize("mode", ["fast", "faithful"])
@pytest.mark.parametrize("influence", ["finite_difference", "jvp"])
def test_leaves_models_and_optimizer_state_unchanged_bit_for_bit(mode, influence):
    teacher, student = tiny_bert(2, 16, seed=1, dropout=0.1), tiny_bert(1, 8, seed=2, dropout=0.1)
    optimizer = optimizer_with_history(student, 2)
    teacher.train(), student.eval()
    params, state = snapshot(student, teacher, optimizer)
    teacher_gradient(teacher, student, optimizer, batch(1), batch(2), mode=mode, influence=influence, **SETTINGS)
    after_params, after_state = snapshot(student, teacher, optimizer)
    assert all(torch.equal(a, b) for a, b in zip(params, after_params))
    for key, value in state["state"].items():
        for name, tensor in value.items():
            assert torch.equal(torch.as_tensor(tensor), torch.as_tensor(after_state["state"][key][name])), (key, name)
    assert (teacher.training, student.training) == (True, False)
    assert all(p.grad is None for p in [*student.parameters(), *teacher.parameters()])
    assert student.config._attn_implementation == "sdpa"


def test_fresh_optimizer_stays_fresh():
    teacher, student = tiny_bert(1, 8, seed=1), tiny_bert(1, 8, seed=2)
    optimizer = optimizer_with_history(student, 0)
    teacher_gradient(teacher, student, optimizer, batch(1), batch(2), **SETTINGS, **FAST)
    assert len(optimizer.state) == 0


@pytest.mark.parametrize(("kind", "fused"), [("adamw_hf", None), ("adamw_torch", True), ("adamw_torch", False)])
@pytest.mark.parametrize("history", [0, 3])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_virtual_step_is_bit_for_bit_the_optimizer_step(kind, fused, history, weight_decay):
    student = tiny_bert(1, 8, seed=2, dtype=torch.float32)
    optimizer = optimizer_with_history(student, history, weight_decay, kind, fused)
    forward(student, batch(7)).square().mean().backward()
    params = list(student.parameters())
    grads = [p.grad.clone() for p in params]
    before = [p.detach().clone() for p in params]
    # Taken from a snapshot, kept before the real step: tensors aliasing the live parameters
    # would match them after it.
    virtual = [v.clone() for v in virtual_step(params, grads, optimizer)]
    assert all(torch.equal(p, b) for p, b in zip(params, before))  # the virtual step took none
    optimizer.step()
    assert all(torch.equal(v, p) for v, p in zip(virtual, params))
    assert all(not torch.equal(p, b) for p, b in zip(params, before))  # and the step moved every one


@pytest.mark.parametrize("with_padding_token", [True, False])
def test_student_view_keeps_rows_gradients_and_padding_semantics(with_padding_token):
    from pipeline.distill.student_view import StudentView

    student = tiny_bert(1, 8, seed=2)
    b, held = batch(1), batch(2, size=4)
    if with_padding_token:
        b["input_ids"][0, -3:] = 0  # BERT's [PAD]: its embedding row gets no gradient
    view = StudentView(student, [b, held], lambda rows: rows)
    used = torch.cat([b["input_ids"].flatten(), held["input_ids"].flatten()]).unique()
    assert torch.equal(view.rows, used) and view.values()[view.embedding_index].shape == (len(used), 8)
    leaves = [v.requires_grad_() for v in view.values()]
    compact = torch.autograd.grad(view.logits(leaves, b).square().sum(), leaves)
    full = torch.autograd.grad(forward(student, b).square().sum(), list(student.parameters()))
    for got, expected in zip(view.full_gradients(list(compact)), full):
        torch.testing.assert_close(got, expected, rtol=1e-12, atol=1e-15)
    assert student.get_input_embeddings().padding_idx == 0  # restored


@pytest.mark.parametrize("mode", ["fast", "faithful"])
def test_under_bf16_autocast_the_influence_term_reaches_the_teacher_update(mode):
    """What of η·h reaches g, g(η) − g(0), under bf16 autocast against float64. With η·h about
    1e-4 of g_t, forming δ_t − η·δ_h in the 16-bit logit space would round it away entirely
    (the fast mode did: relative error 1.0); back-propagated apart, bf16 keeps it to about 1 %."""
    teacher64, student64 = tiny_bert(2, 32, seed=1), tiny_bert(1, 32, seed=2)
    optimizer64 = optimizer_with_history(student64, 3)
    teacher, student = copy.deepcopy(teacher64).float(), copy.deepcopy(student64).float()
    optimizer = AdamWHF(student.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01)
    optimizer.load_state_dict(optimizer64.state_dict())
    b, held = batch(1, size=8), batch(2, size=8)
    settings = dict(SETTINGS, eta=3e-5, mode=mode, influence="finite_difference")

    def influence_term(t, s, opt):
        with_eta = teacher_gradient(t, s, opt, b, held, **settings)
        without = teacher_gradient(t, s, opt, b, held, **{**settings, "eta": 0.0})
        return torch.cat([(w - o).double().flatten() for w, o in zip(with_eta, without)])

    expected = influence_term(teacher64, student64, optimizer64)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = influence_term(teacher, student, optimizer)
    assert expected.norm() > 0
    assert (got - expected).norm() / expected.norm() < 0.05
