"""Scale benchmark (`python -m stages scale`): a task's data stages at the real GLUE size.

In a scratch directory, the synthetic generator writes the task at its real row counts
(MNLI: 392,702 training rows); `download`, `pretrained` and `tokenize` then run as DVC would
run them, each in its own process, timed, with the process's peak resident memory. Last, the
training loader draws batches from the tokenized split, to show it streams from the
memory-mapped Arrow files rather than holding the split as Python objects.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

STAGES = ("download", "pretrained", "tokenize")


def _run_stage(args: list[str], cwd: Path) -> dict:
    """Wall time and peak RSS of one stage process."""
    # The log goes to a file, not a pipe: a pipe nobody reads until the process ends would
    # block the process once its log outgrew the pipe's buffer.
    with tempfile.TemporaryFile("w+") as log:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", f"stages.{args[0]}", *args[1:]], cwd=cwd, stdout=subprocess.DEVNULL,
                                   stderr=log)
        # wait4, not wait: it also returns the child's resource usage, whose peak RSS we want.
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            log.seek(0)
            raise RuntimeError(f"{' '.join(args)} failed:\n{log.read()[-2000:]}")
    return {"s": round(seconds, 1), "peak_mb": round(usage.ru_maxrss / 1024, 1)}  # kilobytes on Linux


def _loader_stream(cwd: Path, task: str, batches: int) -> dict:
    """Batches drawn from the tokenized training split, in a fresh process."""
    command = [sys.executable, "-m", "benchmarks.loader_stream", "--task", task, "--batches", str(batches)]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def run(params_file: Path, task: str, loader_batches: int = 2000, workdir: Path | None = None) -> dict:
    """The record: each stage's seconds and peak MB, and the loader's figures."""
    params = yaml.safe_load(Path(params_file).read_text())
    params["tasks"] = [task]
    params["data"]["source"] = "synthetic"
    params["data"]["synthetic"]["real_sizes"] = True
    params["data"]["tasks"] = sorted({task, "ax"} if task == "mnli" else {task})
    with tempfile.TemporaryDirectory(prefix="lgtm-scale-", dir=workdir) as scratch:
        cwd = Path(scratch)
        (cwd / "params.yaml").write_text(yaml.safe_dump(params))
        record: dict = {"task": task}
        for other in params["data"]["tasks"]:
            if other != task:
                _run_stage(["download", "--task", other], cwd)
        for stage in STAGES:
            record[stage] = _run_stage([stage, "--task", task], cwd)
        record["train_loader"] = _loader_stream(cwd, task, loader_batches)
    return record
