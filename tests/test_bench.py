"""`python -m stages bench` runs every method's real step and reports what it promises."""

from __future__ import annotations

import json

import pytest

from conftest import run_stage

pytestmark = pytest.mark.slow
TINY = ["--teacher-layers", "2", "--student-layers", "1", "--hidden", "32", "--heads", "2", "--intermediate", "64",
        "--vocab", "2000", "--batch-size", "4", "--seq-len", "16", "--warmup", "1", "--repeats", "2"]


def test_bench_prints_one_json_line_with_times_ratios_and_memory(tmp_path):
    result = run_stage("bench", *TINY, "--methods", "kd,lgtm,lgtm-authors", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert "prokt_step_s" not in record  # only the methods asked for
    for method in ("kd", "lgtm", "lgtm_authors"):
        assert record[f"{method}_step_s"] > 0 and record[f"{method}_peak_mb"] > 100
        if method != "kd":
            assert record[f"{method}_over_kd"] == pytest.approx(record[f"{method}_step_s"] / record["kd_step_s"], rel=0.02)
    assert record["shape"]["hidden"] == 32 and record["threads"] == 2


def test_bench_refuses_an_unknown_method(tmp_path):
    result = run_stage("bench", *TINY, "--methods", "kd,dkd", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: --methods: unknown dkd; expected some of: kd, prokt")
