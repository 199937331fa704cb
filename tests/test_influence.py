"""Per-sample distillation influence (pipeline/distill/sample_influence.py): each sample's value
against per-sample autograd in float64, its rows worked by hand, and the step's update
unchanged by logging it."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import torch
from test_lgtm_gradient import batch, forward, optimizer_with_history, tiny_bert
from test_methods import SETTINGS, context, params

from pipeline.distill.lgtm_gradient import teacher_gradient
from pipeline.distill.sample_influence import COLUMNS, SampleInfluence, sample_rows, shares
from pipeline.methods.registry import STEPS
from pipeline.training.sample_log import SampleLog, due
from reference.lgtm_authors import KdWeights, first_pass_gradients, held_out_gradient, look_ahead_student, optimizer_for_copy

ALPHA, ALPHA_T, TAU = 0.7, 0.4, 2.0


def held_out_direction(teacher, student, optimizer, b, held) -> list[torch.Tensor]:
    """v, as the authors' code computes it (reference/lgtm_authors.py): the held-out gradient of
    the look-ahead (virtual) student, on copies."""
    teacher, student = copy.deepcopy(teacher), copy.deepcopy(student)
    teacher.train(), student.train()
    student_grads, _ = first_pass_gradients(teacher, student, b, KdWeights(ALPHA, ALPHA_T, TAU))
    ahead = look_ahead_student(student, student_grads, optimizer_for_copy(optimizer, list(student.parameters())))
    return held_out_gradient(ahead, held)


def per_sample_autograd(teacher, student, b, v) -> list[float]:
    """I_i = ∇θs ℓ_i · v, ℓ_i = α_t · Σ_c p_c (log p_c − log q_c), p = softmax(S(x_i)/τ),
    q = softmax(T(x_i)/τ), one torch.autograd.grad per sample (both models in eval mode)."""
    teacher, student = copy.deepcopy(teacher).eval(), copy.deepcopy(student).eval()
    with torch.no_grad():
        q = torch.softmax(forward(teacher, b) / TAU, -1)
    values = []
    for i in range(len(b["labels"])):
        p = torch.softmax(forward(student, b)[i] / TAU, -1)
        loss = ALPHA_T * (p * (p.log() - q[i].log())).sum()
        grads = torch.autograd.grad(loss, list(student.parameters()), allow_unused=True)
        values.append(sum((g * d).sum().item() for g, d in zip(grads, v) if g is not None))
    return values


# The finite difference is O(R²) off its limit (1e-3 relative at the authors' r = 0.01 here):
# a smaller radius brings it within 1e-7; the JVP is the limit itself.
@pytest.mark.parametrize(("mode", "influence", "radius", "tolerance"),
                         [("fast", "finite_difference", 1e-4, 1e-7), ("faithful", "finite_difference", 1e-4, 1e-7),
                          ("faithful", "jvp", 0.01, 1e-10)])
def test_each_samples_influence_is_its_gradients_inner_product_with_v_in_float64(mode, influence, radius, tolerance):
    teacher, student = tiny_bert(2, 16, seed=1), tiny_bert(1, 8, seed=2)
    optimizer = optimizer_with_history(student, 3)
    b, held = batch(1), batch(2, size=4)
    expected = per_sample_autograd(teacher, student, b, held_out_direction(teacher, student, optimizer, b, held))
    # The samples differ fourfold: a mix-up of samples would show.
    assert max(map(abs, expected)) > 4 * min(map(abs, expected))
    samples = []
    teacher_gradient(teacher, student, optimizer, b, held, alpha_kd=ALPHA, t_alpha_kd=ALPHA_T, temperature=TAU,
                     eta=3e-3, radius=radius, mode=mode, influence=influence, samples=samples)
    (sample,) = samples
    scale = max(map(abs, expected))
    torch.testing.assert_close(sample.influence, torch.tensor(expected, dtype=torch.float64), rtol=0,
                               atol=tolerance * scale)


@pytest.mark.parametrize("influence", ["finite_difference", "jvp"])
def test_logging_the_influence_leaves_the_update_bit_for_bit(influence):
    teacher, student = tiny_bert(2, 16, seed=1, dropout=0.1), tiny_bert(1, 8, seed=2, dropout=0.1)
    optimizer = optimizer_with_history(student, 2)
    settings = dict(alpha_kd=ALPHA, t_alpha_kd=ALPHA_T, temperature=TAU, eta=3e-3, radius=0.01, mode="faithful",
                    influence=influence)
    runs = []
    for samples in (None, []):
        torch.manual_seed(7)  # the same dropout masks for both
        runs.append(teacher_gradient(teacher, student, optimizer, batch(1), batch(2), samples=samples, **settings))
    assert all(torch.equal(a, b) for a, b in zip(*runs))


def test_a_logged_lgtm_step_exports_its_batch_and_updates_as_an_unlogged_one():
    runs = []
    for samples in (None, []):
        ctx = context(True)
        ctx.samples = samples
        b = {**batch(1), "idx": torch.tensor([10, 11, 12, 13, 14, 15])}
        STEPS["lgtm"]().step(ctx, b, batch(2))
        runs.append((params(ctx.teacher) + params(ctx.student), ctx.samples))
    (unlogged, none), (logged, rows) = runs
    assert none is None and all(torch.equal(a, b) for a, b in zip(unlogged, logged))
    (columns,) = rows
    assert tuple(columns) == COLUMNS
    assert columns["idx"] == [10, 11, 12, 13, 14, 15] and columns["label"] == batch(1)["labels"].tolist()
    assert sum(map(abs, columns["share"])) == pytest.approx(1.0)


def test_the_lgtm_step_logs_at_each_evaluation_by_default():
    step = STEPS["lgtm"]()
    assert step.samples_every(SETTINGS, 25) == 25
    assert step.samples_every(SETTINGS.model_copy(update={"influence_every": 0}), 25) == 0
    assert step.samples_every(SETTINGS.model_copy(update={"influence_every": 3}), 25) == 3
    assert STEPS["kd"]().samples_every(SETTINGS, 25) == 0


def test_shares_are_each_influence_over_the_sum_of_their_magnitudes():
    got = shares(torch.tensor([1.0, -3.0, 0.0, 4.0], dtype=torch.float64))
    assert got.tolist() == [0.125, -0.375, 0.0, 0.5]
    assert shares(torch.zeros(3)).tolist() == [0.0, 0.0, 0.0]


def test_sample_rows_worked_by_hand():
    """Teacher probabilities (1/4, 3/4) and (1/2, 1/2); the student's (1/2, 1/2) and (1/4, 3/4)."""
    log3 = math.log(3.0)
    sample = SampleInfluence(torch.tensor([2.0, -6.0], dtype=torch.float64),
                             torch.tensor([[0.0, log3], [0.0, 0.0]], dtype=torch.float64),
                             torch.tensor([[0.0, 0.0], [0.0, log3]], dtype=torch.float64))
    rows = sample_rows(sample, torch.tensor([7, 9]), torch.tensor([1, 0]), temperature=1.0)
    assert rows["idx"] == [7, 9] and rows["label"] == [1, 0]
    assert rows["influence"] == [2.0, -6.0] and rows["share"] == [0.25, -0.75]
    assert rows["teacher_prob"] == pytest.approx([0.75, 0.5], abs=1e-15)
    assert rows["student_prob"] == pytest.approx([0.5, 0.25], abs=1e-15)
    # KL(T ‖ S): 1/4 log(1/2) + 3/4 log(3/2); 1/2 log 2 + 1/2 log(2/3)
    assert rows["teacher_student_kl"] == pytest.approx(
        [0.25 * math.log(0.5) + 0.75 * math.log(1.5), 0.5 * math.log(2.0) + 0.5 * math.log(2.0 / 3.0)], abs=1e-15)
    assert rows["student_loss"] == pytest.approx([math.log(2.0), math.log(4.0)], abs=1e-15)


def test_sample_rows_of_a_regression_task_have_no_probabilities():
    sample = SampleInfluence(torch.tensor([1.0]), torch.tensor([[2.0]]), torch.tensor([[0.5]]))
    rows = sample_rows(sample, torch.tensor([0]), torch.tensor([1.5]), temperature=1.0)
    assert math.isnan(rows["teacher_prob"][0]) and math.isnan(rows["student_prob"][0])
    assert rows["teacher_student_kl"] == [2.25] and rows["student_loss"] == [1.0]


def test_the_loop_logs_every_n_steps_and_the_last():
    assert [n for n in range(1, 64) if due(n, 25, 63)] == [25, 50, 63]
    assert [n for n in range(1, 8) if due(n, 1, 7)] == [1, 2, 3, 4, 5, 6, 7]
    assert not any(due(n, 0, 63) for n in range(1, 64))


def test_rows_are_appended_with_their_step_and_written_on_request(tmp_path):
    import pyarrow.parquet as pq

    path = tmp_path / "influence.parquet"
    log = SampleLog(path)
    log.write()
    assert not path.exists()  # no rows, no file
    log.append(5, [{"idx": [3, 1], "influence": [0.5, -0.25]}])
    log.append(10, [{"idx": [2], "influence": [1.0]}])
    assert not path.exists()  # kept in memory until a checkpoint or the end
    log.write()
    assert pq.read_table(path).to_pydict() == {"step": [5, 5, 10], "idx": [3, 1, 2], "influence": [0.5, -0.25, 1.0]}
    assert [p.name for p in tmp_path.iterdir()] == ["influence.parquet"]  # no temporary left behind


def test_a_resumed_log_continues_the_rows_its_file_holds(tmp_path):
    import pyarrow.parquet as pq

    path = tmp_path / "influence.parquet"
    first = SampleLog(path)
    first.append(5, [{"idx": [3], "influence": [0.5]}])
    first.write()
    resumed = SampleLog(path)
    resumed.append(10, [{"idx": [2], "influence": [1.0]}])
    resumed.write()
    assert pq.read_table(path).to_pydict() == {"step": [5, 10], "idx": [3, 2], "influence": [0.5, 1.0]}


def test_the_report_stage_finds_the_rows_where_the_lgtm_step_writes_them():
    from stages.paths import influence_file

    assert influence_file("rte") == Path("runs/lgtm/rte") / STEPS["lgtm"].samples_file
