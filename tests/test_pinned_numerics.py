"""What "the same bytes on any x86-64 machine" rests on (docs/reproducibility.md): the kernel
settings a stage process starts with, and the optimizer's correctly rounded square roots. The
expected values are written out here, not read from stages/environment.py, so that switching
a pin back fails a test."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import torch
from conftest import REPO, STARTING_ENVIRON

from pipeline.optim import adamw_hf_update

PINNED = {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41", "MKL_CBWR": "COMPATIBLE",
          "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

# What a command sees once it runs (stages/command.py's `run`) and imports torch, as every stage does.
PROBE = """
import json, os
from stages.command import run_main

def main():
    import torch
    print(json.dumps({"environ": {name: os.environ.get(name) for name in %r},
                      "capability": torch.backends.cpu.get_cpu_capability(), "threads": torch.get_num_threads()}))

run_main(main)
"""


def stage_process_state(extra_environ: dict) -> dict:
    environ = {name: value for name, value in STARTING_ENVIRON.items() if name not in PINNED and name != "LGTM_NATIVE_CPU"}
    result = subprocess.run([sys.executable, "-c", PROBE % sorted(PINNED)], capture_output=True, text=True, timeout=300,
                            env={**environ, "PYTHONPATH": str(REPO), **extra_environ})
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_a_stage_process_runs_the_generic_kernels_on_one_thread():
    state = stage_process_state({})
    assert state["environ"] == PINNED
    assert state["capability"] == "DEFAULT"  # ATen's generic kernels, not AVX2's or AVX-512's
    assert state["threads"] == 1


def test_native_cpu_leaves_the_machine_its_own_kernels():
    """The opt-out is real: with LGTM_NATIVE_CPU=1 nothing is pinned (so the test above checks
    the pins, not a default of this machine)."""
    state = stage_process_state({"LGTM_NATIVE_CPU": "1"})
    assert state["environ"] == dict.fromkeys(PINNED)


def float32_bits(array: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=np.float32).view(np.int32)


def test_the_optimizer_divides_by_correctly_rounded_square_roots():
    """With beta1 0, beta2 1, eps 0, no bias correction and no decay, one step of an all-zero
    parameter with gradient 1 leaves -1/sqrt(v), v the second moment as it was: its bits are
    those of numpy's square root (the processor's exact instruction), divided as IEEE divides.
    torch's own CPU square root (MKL's vector library) is off in the last bit for about one in
    five of these values on an AMD EPYC, differently on Intel processors."""
    rng = np.random.default_rng(0)
    second_moments = (rng.standard_normal(200_000) ** 2 * 1e-6).astype(np.float32) + np.float32(1e-12)
    param = torch.zeros(second_moments.size)
    exp_avg_sq = torch.from_numpy(second_moments.copy())
    adamw_hf_update([param], [torch.ones_like(param)], [torch.zeros_like(param)], [exp_avg_sq], 1, lr=1.0, beta1=0.0,
                    beta2=1.0, eps=0.0, weight_decay=0.0, correct_bias=False)
    assert np.array_equal(float32_bits(exp_avg_sq.numpy()), float32_bits(second_moments))  # v kept as it was
    expected = -(np.float32(1.0) / np.sqrt(second_moments))
    differing = int((float32_bits(param.numpy()) != float32_bits(expected)).sum())
    assert differing == 0, f"{differing} of {second_moments.size} updates are not -1/sqrt(v) correctly rounded"
