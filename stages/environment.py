"""The CPU kernels every stage process runs with, so that a stage gives the same bytes on any
x86-64 machine, whatever its vendor, instruction sets and core count.

Three libraries pick kernels by the CPU they find, and float sums come out in other orders on
other machines: ATen's vectorised kernels (ATEN_CPU_CAPABILITY: default, avx2, avx512), oneDNN
(ONEDNN_MAX_CPU_ISA) and MKL (MKL_CBWR, its conditional numerical reproducibility). Capping
them at AVX2 is not enough: MKL ignores every MKL_CBWR level but COMPATIBLE on AMD processors,
and runs other AVX2 kernels on Intel ones; ATen's AVX2 `exp` differs too. Only the generic
level gives the same bytes on an AMD and on (emulated) Intel AVX2 and SSE4.2 machines; it
costs 1.65x in LGTM's step at the demo's size, 1.1x of it in ATen. ATen's own parallel
reductions split their work by thread, so the thread count is fixed as well: one thread per
process. A stage uses a machine's cores by training several tasks at once, each in a process of
its own (`launch.workers`), which changes no result. docs/reproducibility.md has the evidence.

Set before torch is imported (the libraries read them when they load), by `setup_process`,
which stages/command.py's `run` calls before any command runs (stage modules import torch
inside their functions, never at import).
`LGTM_NATIVE_CPU=1` leaves the machine's own choices: faster, and results that depend on the
machine. On a GPU none of this decides the results.

Also here, for the same reason (CUDA reads it when it loads): the GPU of a stage process that
`make compare`'s queue started (pipeline/compare.py), one no other stage process holds. And,
first thing, a process of `accelerate launch` (pipeline/launch.py) asks to die with its
launcher: torchrun starts each in a session of its own, where a killed stage would leave it
training on and writing behind it.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import signal
import sys
import time
from pathlib import Path
from typing import IO

THREADS = 1  # per process; the cores go to processes side by side (pipeline/parallel.py)
PINNED = {
    "ATEN_CPU_CAPABILITY": "default",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "MKL_CBWR": "COMPATIBLE",
    "OMP_NUM_THREADS": str(THREADS),
    "MKL_NUM_THREADS": str(THREADS),
}


def pin_cpu_kernels(environ=os.environ) -> None:
    """Set the process's CPU kernel choices, unless LGTM_NATIVE_CPU=1 asks for the machine's."""
    if environ.get("LGTM_NATIVE_CPU", "0") == "1":
        return
    environ.update(PINNED)


DEVICES_VARIABLE = "LGTM_DEVICES"  # the GPUs a comparison's queued experiments take one each: "0,1,..."
DEVICE_LOCKS_VARIABLE = "LGTM_DEVICE_LOCKS"  # the directory of their lock files
_held: list[IO] = []  # the lock of the claimed GPU, held until the process exits


def free_device(pool: list[str], lock_dir: Path) -> tuple[str, IO] | None:
    """(a device of `pool` whose lock file in `lock_dir` no process holds, its lock, now held),
    or None while every one is held. The kernel drops a lock with its process, killed or not."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    for device in pool:
        handle = open(lock_dir / f"{device}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return device, handle
    return None


def claim_device(environ=os.environ, poll_s: float = 1.0) -> None:
    """Bind the process to a GPU of LGTM_DEVICES no other stage process holds (waiting for one),
    where the comparison's queue set it and nobody chose a GPU (CUDA_VISIBLE_DEVICES)."""
    if not environ.get(DEVICES_VARIABLE) or "CUDA_VISIBLE_DEVICES" in environ:
        return
    pool = environ[DEVICES_VARIABLE].split(",")
    while (claimed := free_device(pool, Path(environ[DEVICE_LOCKS_VARIABLE]))) is None:
        time.sleep(poll_s)
    device, lock = claimed
    _held.append(lock)
    environ["CUDA_VISIBLE_DEVICES"] = device


_PR_SET_PDEATHSIG = 1


def die_with_launcher(environ=os.environ) -> None:
    """Inside a launch (torchrun sets LOCAL_RANK), have the kernel kill this process when its
    launcher dies; if it already has (this process was handed to init), exit now."""
    if "LOCAL_RANK" not in environ or not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:
        os._exit(1)


def setup_process(environ=os.environ) -> None:
    """What a stage or tool process does first, before anything imports torch or a Hugging Face
    library (they read these when they load): die with its launcher, pin the CPU kernels, take
    the GPU of a queued comparison experiment; and no per-shard or per-map progress bars, which
    only add noise to DVC's output."""
    die_with_launcher(environ)  # at once: a launched process outlives no killed stage
    pin_cpu_kernels(environ)
    claim_device(environ)
    environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
