"""`python -m stages bench` runs every method's real step and reports what it promises."""

from __future__ import annotations

import json

import pytest
from conftest import run_stage

pytestmark = pytest.mark.slow
TINY = ["--teacher-layers", "2", "--student-layers", "1", "--hidden", "32", "--heads", "2", "--intermediate", "64",
        "--vocab", "2000", "--batch-size", "4", "--seq-len", "16", "--warmup", "1", "--repeats", "2"]


def test_bench_prints_one_json_line_with_times_ratios_and_memory(tmp_path):
    result = run_stage("bench", *TINY, "--methods", "kd,lgtm,lgtm-influence", "--influence-every", "10", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert "prokt_step_s" not in record  # only the methods asked for
    for method in ("kd", "lgtm"):
        assert record[f"{method}_step_s"] > 0 and record[f"{method}_peak_mb"] > 100
        if method != "kd":
            assert record[f"{method}_over_kd"] == pytest.approx(record[f"{method}_step_s"] / record["kd_step_s"], rel=0.02)
    # LGTM on a step that logs its influence rows, against the same step unlogged.
    overhead = record["lgtm_influence_step_s"] / record["lgtm_step_s"] - 1  # of the step times rounded to 0.1 ms
    assert record["influence_logging_overhead"] == pytest.approx(overhead, abs=5e-3)
    assert record["influence_every"] == 10
    assert record["influence_logging_overhead_amortized"] == pytest.approx(record["influence_logging_overhead"] / 10,
                                                                           abs=1e-4)
    assert record["shape"]["hidden"] == 32 and record["threads"] == 2
    assert record["cpu_kernels"] == "portable"  # the stages' pinned kernels, unless LGTM_NATIVE_CPU=1


def test_bench_says_when_it_measures_the_machines_own_kernels(tmp_path):
    result = run_stage("bench", *TINY, "--methods", "kd", "--no-memory", cwd=tmp_path, env={"LGTM_NATIVE_CPU": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout)["cpu_kernels"] == "native"


def test_bench_refuses_an_unknown_method(tmp_path):
    result = run_stage("bench", *TINY, "--methods", "kd,dkd", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: --methods: unknown dkd; expected some of: kd, pkd, skd")


def test_scale_benchmark_runs_the_data_stages_at_the_real_size(tmp_path):
    """RTE, whose real training split is small (2,490 rows): the command MNLI's figures come from."""
    import yaml
    from conftest import stage_test_params

    (tmp_path / "params.yaml").write_text(yaml.safe_dump(stage_test_params()))
    result = run_stage("scale", "--task", "rte", "--loader-batches", "20", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads(result.stdout.strip().splitlines()[-1])
    for stage in ("download", "pretrained", "tokenize"):
        assert record[stage]["s"] > 0 and record[stage]["peak_mb"] > 10
    assert record["train_loader"]["rows"] == 2490 and record["train_loader"]["batches"] == 20


def test_bench_refuses_an_unknown_precision(tmp_path):
    result = run_stage("bench", *TINY, "--precision", "fp8", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "error: --precision: expected no, bf16 or fp16, got 'fp8'"

