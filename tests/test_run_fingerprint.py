"""A run's fingerprint covers what that run reads, and nothing else: a kept run is copied, not
trained again, exactly when nothing it depends on changed (pipeline/training/run.py)."""

from __future__ import annotations

import pytest

from pipeline.glue.tasks import get_task
from pipeline.settings.params import validate_params
from pipeline.settings.runs import FINETUNE_TEACHER, run_spec
from pipeline.training.run import RunPaths, run_fingerprint


@pytest.fixture
def paths(tmp_path) -> RunPaths:
    paths = RunPaths(*(tmp_path / name for name in ("tok", "pre", "ft", "as", "an", "run", "live", "ck")))
    for path in (paths.tokenized, paths.pretrained, paths.finetuned_teacher, paths.assistant, paths.anchors):
        path.mkdir()
    return paths


def fingerprints(demo_params, paths, section: str, key: str, value) -> dict[str, tuple[str, str]]:
    """Each run's fingerprint before and after setting `section.key` to `value`."""
    before = validate_params(demo_params)
    demo_params[section][key] = value
    after = validate_params(demo_params)
    rte = get_task("rte")
    return {run: (run_fingerprint(before, rte, run_spec(before, run), paths),
                  run_fingerprint(after, rte, run_spec(after, run), paths))
            for run in (FINETUNE_TEACHER, "kd", "lgtm", "metadistil")}


def test_the_students_rate_does_not_reach_the_teacher_fine_tuned_alone(demo_params, paths):
    prints = fingerprints(demo_params, paths, "train", "learning_rate", demo_params["train"]["learning_rate"] * 2)
    assert prints[FINETUNE_TEACHER][0] == prints[FINETUNE_TEACHER][1]
    for run in ("kd", "lgtm", "metadistil"):
        assert prints[run][0] != prints[run][1], run


def test_the_teachers_rate_reaches_only_the_runs_that_train_a_teacher_at_it(demo_params, paths):
    prints = fingerprints(demo_params, paths, "train", "teacher_learning_rate",
                          demo_params["train"]["teacher_learning_rate"] * 2)
    assert prints[FINETUNE_TEACHER][0] != prints[FINETUNE_TEACHER][1]
    assert prints["lgtm"][0] != prints["lgtm"][1]
    # KD's teacher is frozen; MetaDistil's teacher learns at its own section's rate.
    assert prints["kd"][0] == prints["kd"][1]
    assert prints["metadistil"][0] == prints["metadistil"][1]


def test_a_shared_training_key_reaches_every_run(demo_params, paths):
    prints = fingerprints(demo_params, paths, "train", "warmup_ratio", 0.25)
    assert all(first != second for first, second in prints.values())


def test_the_rates_are_the_ones_each_run_trains_at(demo_params):
    params = validate_params(demo_params)
    train = params.train
    rates = {run: run_spec(params, run).learning_rates for run in (FINETUNE_TEACHER, "kd", "lgtm", "metadistil")}
    assert rates[FINETUNE_TEACHER] == {"student": train.teacher_learning_rate, "teacher": None}
    assert rates["kd"] == {"student": train.learning_rate, "teacher": None}
    assert rates["lgtm"] == {"student": train.learning_rate, "teacher": train.teacher_learning_rate}
    assert rates["metadistil"]["teacher"] == params.method_settings("metadistil").teacher_learning_rate
