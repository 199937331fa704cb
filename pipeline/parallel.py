"""Independent jobs (one task's run each) at most `workers` at a time, each in a forked process.

Forked after the heavy imports, a worker starts at once (no second torch import) and shares
nothing that the job changes. Each worker dies with its parent (Linux's PR_SET_PDEATHSIG), so a
stage killed at any moment leaves no orphan writing behind it; what a killed job left half
written is what any killed stage leaves (pipeline/atomic.py). A job's error is raised in the
parent as it was raised in the worker, after the other workers are stopped.

Jobs run one after another in the parent where forking is not possible or not safe: one
worker, one job, or a platform without fork and PR_SET_PDEATHSIG.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
_PR_SET_PDEATHSIG = 1


def _can_fork() -> bool:
    return hasattr(os, "fork") and sys.platform.startswith("linux")


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent `parent` dies (Linux)."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _child(job: Callable[[], T], result_path: str, parent: int) -> None:
    die_with_parent(parent)
    try:
        outcome = ("result", job())
    except BaseException as error:  # noqa: BLE001 - every error goes back to the parent
        traceback.print_exc()
        outcome = ("error", error)
    with open(result_path, "wb") as out:
        pickle.dump(outcome, out)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def run_jobs(jobs: Sequence[Callable[[], T]], workers: int) -> list[T]:
    """The jobs' results, in order."""
    if workers <= 1 or len(jobs) <= 1 or not _can_fork():
        return [job() for job in jobs]
    results: dict[int, T] = {}
    running: dict[int, tuple[int, str]] = {}  # pid: (job index, result file)
    pending = list(enumerate(jobs))
    parent = os.getpid()
    with tempfile.TemporaryDirectory(prefix="jobs-") as scratch:
        try:
            while pending or running:
                while pending and len(running) < workers:
                    index, job = pending.pop(0)
                    result_path = os.path.join(scratch, f"{index}.pickle")
                    sys.stdout.flush()
                    sys.stderr.flush()
                    pid = os.fork()
                    if pid == 0:
                        _child(job, result_path, parent)
                    running[pid] = (index, result_path)
                pid, status = os.wait()
                index, result_path = running.pop(pid)
                if not os.path.exists(result_path):
                    raise RuntimeError(f"job {index} died ({os.waitstatus_to_exitcode(status)}) without a result")
                with open(result_path, "rb") as result:
                    kind, value = pickle.load(result)
                if kind == "error":
                    raise value
                results[index] = value
        finally:
            for pid in running:
                os.kill(pid, signal.SIGKILL)
            for pid in running:
                os.waitpid(pid, 0)
    return [results[index] for index in range(len(jobs))]
