"""`python -m benchmarks.plateau` fine-tunes a pre-trained model over seeds and counts the runs
that end on a constant prediction."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml
from conftest import REPO, STARTING_ENVIRON, run_stage, stage_test_params

from benchmarks.plateau import CONSTANT_SHARE, fine_tune_once
from pipeline.settings.params import load_params

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pretrained_rte(tmp_path_factory):
    """A scratch directory holding RTE's tokenized synthetic data and its pre-trained teacher and student."""
    workdir = tmp_path_factory.mktemp("plateau")
    params = stage_test_params()
    params["tasks"] = ["rte"]
    params["data"]["synthetic"].update(train_rows=160, dev_rows=40, test_rows=20)
    (workdir / "params.yaml").write_text(yaml.safe_dump(params))
    for stage in (["params"], ["download"], ["pretrained", "--task", "rte"], ["tokenize", "--task", "rte"]):
        result = run_stage(*stage, cwd=workdir)
        assert result.returncode == 0, result.stderr[-3000:]
    return workdir


def test_a_seeded_run_is_reproducible_and_its_share_says_whether_it_is_constant(pretrained_rte):
    params = load_params(pretrained_rte / "params.yaml")
    settings = dict(train=params.train, learning_rate=2e-3, steps=3, dropout=True)

    def once(seed):
        return fine_tune_once(pretrained_rte / "models/rte/teacher", "rte", pretrained_rte / "data/tokenized/rte",
                              seed=seed, **settings)

    first, again = once(1), once(1)
    assert first == again
    assert 0.0 <= first["accuracy"] <= 1.0 and 0.5 <= first["largest_share"] <= 1.0
    assert first["constant"] == (first["largest_share"] >= CONSTANT_SHARE)


def test_the_command_prints_a_line_per_seed_then_the_count(pretrained_rte):
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.plateau", "--task", "rte", "--role", "student", "--seeds", "2",
         "--steps", "2", "--threads", "1"],
        cwd=pretrained_rte, capture_output=True, text=True, timeout=300,
        env={**STARTING_ENVIRON, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    *per_seed, last = result.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in per_seed] == ["seed 1", "seed 2"]
    record = json.loads(last)
    assert record["seeds"] == 2 and record["steps"] == 2 and record["learning_rate"] == 2e-3
    assert record["constant"] == sum(run["constant"] for run in record["runs"])
