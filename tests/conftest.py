from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
# The environment pytest started with, before the kernels are pinned below: a stage run as a
# subprocess starts from this one, as from a shell, so that LGTM_NATIVE_CPU=1 still means the
# machine's kernels.
STARTING_ENVIRON = dict(os.environ)
# This process computes what the stages compute in theirs, and its subprocesses inherit its
# environment: pin the same CPU kernels here, before any test module imports torch.
from stages.environment import pin_cpu_kernels  # noqa: E402

pin_cpu_kernels()
# Masked-LM steps of the tiny models in tests that run stages: they check what the stages do,
# not how well the models learn (test_models checks that pre-training learns).
QUICK_PRETRAINING_STEPS = 8


@pytest.fixture
def demo_params() -> dict:
    """The committed params.yaml (the demo composition), as a fresh mutable dict."""
    return copy.deepcopy(yaml.safe_load((REPO / "params.yaml").read_text()))


def stage_test_params() -> dict:
    """The committed params.yaml, with the quick pre-training that tests running stages use."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["model"]["tiny_pretraining"]["steps"] = QUICK_PRETRAINING_STEPS
    return params


@pytest.fixture
def small_params(tmp_path) -> Path:
    """A params file for running stages fast in a scratch directory."""
    params = stage_test_params()
    params["data"]["synthetic"].update(train_rows=300, dev_rows=60, test_rows=40)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def run_stage(*args: str, cwd: Path, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m stages ARGS` in `cwd`, as DVC runs it (with `env` added to the environment)."""
    return subprocess.run(
        [sys.executable, "-m", "stages", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**STARTING_ENVIRON, "PYTHONPATH": str(REPO), **(env or {})},
    )
