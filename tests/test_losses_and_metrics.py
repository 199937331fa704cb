"""Losses against their formulas written out in float64, metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from pipeline.distill.losses import soft_target_loss, student_loss, teacher_loss
from pipeline.glue.tasks import TASKS
from pipeline.results.metrics import compute_metrics, majority_label

A = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, 0.3]], dtype=torch.float64)
B = torch.tensor([[0.0, 1.0, -0.5], [1.0, -2.0, 0.0]], dtype=torch.float64)
Y = torch.tensor([0, 2])


def literal_kl(p_logits, q_logits, tau):
    total = 0.0
    for p_row, q_row in zip(p_logits.tolist(), q_logits.tolist()):
        zp = sum(math.exp(x / tau) for x in p_row)
        zq = sum(math.exp(x / tau) for x in q_row)
        for p, q in zip(p_row, q_row):
            prob_p, prob_q = math.exp(p / tau) / zp, math.exp(q / tau) / zq
            total += prob_p * (math.log(prob_p) - math.log(prob_q))
    return total / len(p_logits)


def literal_ce(logits, labels):
    rows = logits.tolist()
    return sum(math.log(sum(math.exp(x) for x in row)) - row[y] for row, y in zip(rows, labels.tolist())) / len(rows)


@pytest.mark.parametrize("tau", [1.0, 2.5])
def test_kl_is_the_batch_mean_without_tau_squared(tau):
    assert soft_target_loss(A, B, tau).item() == pytest.approx(literal_kl(A, B, tau), rel=1e-12)


def test_student_and_teacher_losses_mix_kl_and_cross_entropy():
    got = student_loss(B, A, Y, alpha_kd=0.3, temperature=2.0).item()
    assert got == pytest.approx(0.3 * literal_kl(A, B, 2.0) + 0.7 * literal_ce(B, Y), rel=1e-12)
    got = teacher_loss(A, B, Y, t_alpha_kd=0.4, temperature=1.0).item()
    assert got == pytest.approx(0.4 * literal_kl(B, A, 1.0) + 0.6 * literal_ce(A, Y), rel=1e-12)


def test_soft_labels_are_detached():
    teacher, student = A.clone().requires_grad_(), B.clone().requires_grad_()
    student_loss(student, teacher, Y, alpha_kd=1.0, temperature=1.0).backward()
    assert teacher.grad is None and student.grad is not None


def test_regression_uses_mean_squared_error():
    scores = torch.tensor([[1.0], [3.0]], dtype=torch.float64)
    target = torch.tensor([[2.0], [2.0]], dtype=torch.float64)
    assert soft_target_loss(target, scores, 1.0).item() == pytest.approx(1.0)


def test_glue_metrics_on_hand_computed_cases():
    labels, predictions = np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0])
    assert compute_metrics(TASKS["mrpc"], predictions, labels) == pytest.approx({"f1": 2 / 3, "accuracy": 0.75})
    # MCC = (TP·TN − FP·FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = (1·2 − 0·1) / sqrt(1·2·2·3)
    assert compute_metrics(TASKS["cola"], predictions, labels)["mcc"] == pytest.approx(2 / math.sqrt(12))
    stsb = compute_metrics(TASKS["stsb"], np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.5]))
    assert stsb["spearman"] == pytest.approx(1.0) and 0.99 < stsb["pearson"] < 1.0
    assert set(compute_metrics(TASKS["mnli"], predictions, labels)) == {"accuracy"}


def test_majority_label():
    assert majority_label([0, 2, 2, 1]) == 2
    assert majority_label([1.0, 2.0]) == 1.5
