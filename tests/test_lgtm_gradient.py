"""`teacher_gradient` against a literal float64 implementation of the authors' algorithm:
deep copies, a real optimizer step on the copy, two teacher forward+backward passes for the
finite difference. Tiny BERTs with dropout 0, so train and eval modes agree."""

from __future__ import annotations

import copy

import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from pipeline.distill.lgtm import teacher_gradient

ALPHA, ALPHA_T, TAU, ETA, RADIUS = 0.7, 0.4, 2.0, 3e-3, 0.01


def tiny_bert(layers: int, hidden: int, seed: int) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=50, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
        intermediate_size=2 * hidden, max_position_embeddings=32, num_labels=3,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )
    return BertForSequenceClassification(config).double()


def batch(seed: int, size: int = 6, length: int = 9) -> dict:
    generator = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(5, 50, (size, length), generator=generator)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[0, -3:] = 0  # one padded example
    return {
        "input_ids": input_ids,
        "attention_mask": attention_mask,
        "token_type_ids": torch.zeros_like(input_ids),
        "labels": torch.randint(0, 3, (size,), generator=generator),
    }


def kl(p_logits, q_logits):
    """KL_τ(p ‖ q), written out: batch mean of Σ_c p_c (log p_c − log q_c)."""
    log_p, log_q = torch.log_softmax(p_logits / TAU, -1), torch.log_softmax(q_logits / TAU, -1)
    return (log_p.exp() * (log_p - log_q)).sum(-1).mean()


def forward(model, b):
    return model(input_ids=b["input_ids"], attention_mask=b["attention_mask"], token_type_ids=b["token_type_ids"]).logits


def literal_teacher_gradient(teacher, student, optimizer, b, held):
    teacher, student = copy.deepcopy(teacher), copy.deepcopy(student)
    ce = torch.nn.functional.cross_entropy
    t_logits, s_logits = forward(teacher, b), forward(student, b)
    loss_s = ALPHA * kl(t_logits.detach(), s_logits) + (1 - ALPHA) * ce(s_logits, b["labels"])
    g_s = torch.autograd.grad(loss_s, list(student.parameters()))
    loss_t = ALPHA_T * kl(s_logits.detach(), t_logits) + (1 - ALPHA_T) * ce(t_logits, b["labels"])
    g_t = torch.autograd.grad(loss_t, list(teacher.parameters()))

    virtual = copy.deepcopy(student)
    virtual_optimizer = torch.optim.AdamW(virtual.parameters(), **{k: v for k, v in optimizer.defaults.items() if k in ("lr", "betas", "eps", "weight_decay")})
    virtual_optimizer.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    for p, g in zip(virtual.parameters(), g_s):
        p.grad = g.clone()
    virtual_optimizer.step()
    v = torch.autograd.grad(ce(forward(virtual, held), held["labels"]), list(virtual.parameters()))

    step = RADIUS / torch.sqrt(sum((x**2).sum() for x in v))
    gradients = []
    for sign in (1, -1):
        moved = copy.deepcopy(student)
        with torch.no_grad():
            for p, d in zip(moved.parameters(), v):
                p.add_(sign * step * d)
        t = forward(teacher, b)
        loss = ALPHA_T * kl(forward(moved, b).detach(), t) + (1 - ALPHA_T) * ce(t, b["labels"])
        gradients.append(torch.autograd.grad(loss, list(teacher.parameters())))
    h = [(plus - minus) / (2 * step) for plus, minus in zip(*gradients)]
    return [gt - ETA * hi for gt, hi in zip(g_t, h)], h


def optimizer_with_history(student, steps: int):
    optimizer = torch.optim.AdamW(student.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01)
    for i in range(steps):  # real moments and step counts, as mid-training
        loss = forward(student, batch(100 + i)).square().mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return optimizer


def snapshot(student, teacher, optimizer):
    params = [p.detach().clone() for p in [*student.parameters(), *teacher.parameters()]]
    state = copy.deepcopy(optimizer.state_dict())
    return params, state


@pytest.mark.parametrize("history", [0, 3])
def test_matches_the_literal_algorithm_in_float64(history):
    teacher, student = tiny_bert(2, 16, seed=1), tiny_bert(1, 8, seed=2)
    optimizer = optimizer_with_history(student, history)
    b, held = batch(1), batch(2, size=4)
    expected, h = literal_teacher_gradient(teacher, student, optimizer, b, held)
    got = teacher_gradient(teacher, student, optimizer, b, held, alpha_kd=ALPHA, alpha_kd_t=ALPHA_T,
                           temperature=TAU, eta=ETA, radius=RADIUS)
    assert len(got) == len(list(teacher.parameters()))
    assert sum(x.abs().sum() for x in h) > 0  # the influence term is really there
    for (name, _), g, e in zip(teacher.named_parameters(), got, expected):
        torch.testing.assert_close(g, e, rtol=1e-7, atol=1e-10, msg=name)


def test_leaves_models_and_optimizer_state_unchanged_bit_for_bit():
    teacher, student = tiny_bert(2, 16, seed=1), tiny_bert(1, 8, seed=2)
    optimizer = optimizer_with_history(student, 2)
    teacher.train(), student.eval()
    params, state = snapshot(student, teacher, optimizer)
    teacher_gradient(teacher, student, optimizer, batch(1), batch(2), alpha_kd=ALPHA, alpha_kd_t=ALPHA_T,
                     temperature=TAU, eta=ETA, radius=RADIUS)
    after_params, after_state = snapshot(student, teacher, optimizer)
    assert all(torch.equal(a, b) for a, b in zip(params, after_params))
    for key, value in state["state"].items():
        for name, tensor in value.items():
            assert torch.equal(torch.as_tensor(tensor), torch.as_tensor(after_state["state"][key][name])), (key, name)
    assert (teacher.training, student.training) == (True, False)
    assert all(p.grad is None for p in student.parameters())


def test_fresh_optimizer_stays_fresh():
    teacher, student = tiny_bert(1, 8, seed=1), tiny_bert(1, 8, seed=2)
    optimizer = optimizer_with_history(student, 0)
    teacher_gradient(teacher, student, optimizer, batch(1), batch(2), alpha_kd=ALPHA, alpha_kd_t=ALPHA_T,
                     temperature=TAU, eta=ETA, radius=RADIUS)
    assert len(optimizer.state) == 0
