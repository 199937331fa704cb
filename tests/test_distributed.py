"""LGTM across processes: under torchrun (2 CPU processes, gloo), one step on two half-batches
updates teacher and student as one process does on the whole batch, and logs the same
per-sample influence rows."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from accelerate import Accelerator
from conftest import REPO
from lgtm_distributed_step import lgtm_step

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("distributed") / "step.pt"
    torchrun = Path(sys.executable).parent / "torchrun"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [str(torchrun), "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
         str(REPO / "tests/lgtm_distributed_step.py"), str(out)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return torch.load(out)


@pytest.mark.parametrize("mode", ["fast", "faithful"])
def test_two_half_batches_update_like_one_whole_batch(two_processes, mode):
    assert two_processes["processes"] == 2
    single = lgtm_step(Accelerator(cpu=True), mode)
    distributed = two_processes[mode]
    assert single.keys() == distributed.keys()
    for name, expected in single.items():
        torch.testing.assert_close(distributed[name], expected, rtol=1e-9, atol=1e-12, msg=name)
    assert single["rows.idx"].tolist() == list(range(100, 108))  # the whole batch, in order
    # The step did move both models: compare with the starting point.
    from test_lgtm_gradient import tiny_bert

    start = dict(tiny_bert(2, 16, seed=1).named_parameters())
    assert any(not torch.equal(single[f"teacher.{k}"], v.detach()) for k, v in start.items())
