"""The three checks of whether a comparison has room (pipeline/reporting/room_checks.py), on
records built by hand, and the metric the first one reads (evaluation.largest_class_share)."""

from __future__ import annotations

import numpy as np
from test_paper_table import record

from pipeline.reporting.evaluation import largest_class_share
from pipeline.reporting.paper_report import checks_markdown
from pipeline.reporting.room_checks import joint_teachers_keep_up, no_constant_prediction, room_checks, teacher_leads_student


def with_metrics(base, **extra):
    base.metrics.update(extra)
    return base


def test_the_largest_class_share_is_one_for_a_constant_prediction():
    assert largest_class_share(np.array([1, 1, 1, 1])) == 1.0
    assert largest_class_share(np.array([0, 1, 1, 2])) == 0.5
    assert largest_class_share(np.array([2, 0, 0])) == 0.6667


def test_a_constant_run_fails_the_first_check_and_is_named():
    runs = [with_metrics(record("kd", "dev", 1e-3, 1, 0.7), largest_predicted_class={"dev": 0.62}),
            with_metrics(record("pkd", "dev", 1e-3, 2, 0.58), largest_predicted_class={"dev": 1.0})]
    check = no_constant_prediction(runs)
    assert check.holds is False
    assert check.findings == ["PKD on RTE seed 2 rate 0.001 (dev): one class for every dev row"]
    assert no_constant_prediction(runs[:1]).holds is True
    assert no_constant_prediction([record("kd", "dev", 1e-3, 1, 0.7)]).holds is None  # not measured


def test_a_constant_skd_run_on_two_classes_still_fails_and_says_why():
    two = with_metrics(record("skd", "dev", 1e-3, 1, 0.58, task="rte"), largest_predicted_class={"dev": 1.0})
    three = with_metrics(record("skd", "dev", 1e-3, 1, 0.35, task="mnli"), largest_predicted_class={"dev": 1.0})
    kd = with_metrics(record("kd", "dev", 1e-3, 1, 0.58, task="rte"), largest_predicted_class={"dev": 1.0})
    check = no_constant_prediction([two, three, kd])
    assert check.holds is False
    explained = [finding for finding in check.findings if "keep only their sign" in finding]
    assert len(explained) == 1 and explained[0].startswith("SKD on RTE")
    on_rt = with_metrics(record("skd", "dev", 1e-3, 1, 0.58, task="sst2", preset="real", source="rotten_tomatoes"),
                         largest_predicted_class={"dev": 1.0})
    assert no_constant_prediction([on_rt]).findings[0].startswith("SKD on RT polarity seed 1")  # its data's name


def test_the_teacher_must_lead_the_student_alone_by_three_points_on_every_seed():
    runs = [record("finetune-teacher", "dev", 1e-3, 1, 0.80), record("finetune", "dev", 1e-3, 1, 0.76),
            record("finetune-teacher", "dev", 1e-3, 2, 0.80), record("finetune", "dev", 1e-3, 2, 0.775)]
    check = teacher_leads_student(runs)
    assert check.holds is False  # seed 2: 2.5 points
    assert [finding.endswith(lead) for finding, lead in zip(check.findings, ("lead 4.00", "lead 2.50"))] == [True, True]
    assert teacher_leads_student(runs[:2]).holds is True
    assert teacher_leads_student(runs[1:2]).holds is None  # no teacher alone to compare with


def test_a_joint_teacher_may_lag_the_teacher_alone_by_three_points_at_most():
    teacher = record("finetune-teacher", "dev", 1e-3, 1, 0.80)
    prokt = with_metrics(record("prokt", "dev", 1e-3, 1, 0.74), teacher_best={"accuracy": 0.775})
    lgtm = with_metrics(record("lgtm", "dev", 1e-3, 1, 0.75), teacher_best={"accuracy": 0.765})
    pesfkd = with_metrics(record("pesfkd", "dev", 1e-3, 1, 0.75), teacher_best={"accuracy": 0.60})
    assert joint_teachers_keep_up([teacher, prokt, pesfkd]).holds is True  # PESF-KD starts from the fine-tuned one
    check = joint_teachers_keep_up([teacher, prokt, lgtm])
    assert check.holds is False
    assert any(finding.startswith("LGTM") and finding.endswith("behind by 3.50") for finding in check.findings)
    assert "DML, ProKT, LGTM" in check.claim
    # LGTM's fast mode is named as its table row is; a joint teacher above the one alone is ahead.
    fast = with_metrics(record("lgtm", "dev", 1e-3, 1, 0.75, mode="fast"), teacher_best={"accuracy": 0.81})
    assert joint_teachers_keep_up([teacher, fast]).findings == [
        "LGTM (fast) on RTE seed 1 rate 0.001 (dev): its teacher 81.00, the teacher alone 80.00, ahead by 1.00"]


def test_the_report_says_which_checks_hold():
    runs = [record("finetune-teacher", "dev", 1e-3, 1, 0.80), record("finetune", "dev", 1e-3, 1, 0.70)]
    text = checks_markdown(room_checks(runs))
    assert text.count("**holds**") == 1 and text.count("**not measured**") == 2
