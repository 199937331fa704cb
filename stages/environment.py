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

Set before torch is imported (the libraries read them when they load), by stages/__init__.py.
`LGTM_NATIVE_CPU=1` leaves the machine's own choices: faster, and results that depend on the
machine. On a GPU none of this decides the results.
"""

from __future__ import annotations

import os

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
