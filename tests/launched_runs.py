"""Every training run of one task, one after another, in one process or under one launch; run
by tests/test_launch.py, once alone and once under `accelerate launch` with 2 processes.

    python tests/launched_runs.py WORKDIR INTO INPUTS
    accelerate launch --multi_gpu --num_processes 2 tests/launched_runs.py WORKDIR INTO INPUTS

WORKDIR holds params.yaml, data/tokenized/rte and models/rte (the stages' layout); each run is
written under WORKDIR/INTO/, and the runs that read another run's model (KD's fine-tuned
teacher, TAKD's assistant, RCO's anchors) read WORKDIR/INPUTS/'s, so that both launches start
every run from the same inputs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from stages.environment import setup_process

setup_process()  # the CPU kernels pinned before torch loads, as in a stage
from pipeline.glue.tasks import get_task  # noqa: E402
from pipeline.methods.registry import METHODS  # noqa: E402
from pipeline.settings.params import load_params  # noqa: E402
from pipeline.settings.runs import FINETUNE_TEACHER, assistant_run, run_spec  # noqa: E402
from pipeline.training.run import RunPaths, train_run  # noqa: E402
from stages.paths import run_layout  # noqa: E402

# Those that others read first: the teacher alone (with its anchors), then the assistants; then
# every method, those that start from the pre-trained models first.
GROUP_ORDER = ("pretrained", "teacher", "assistant", "anchors")
RUNS = [FINETUNE_TEACHER, *(assistant_run(name) for name, info in METHODS.items() if info.teacher == "assistant"),
        *sorted(METHODS, key=lambda name: GROUP_ORDER.index(METHODS[name].starts_from))]


def paths(workdir: Path, into: str, inputs: str, run: str) -> RunPaths:
    layout = {key: workdir / path for key, path in run_layout(run, "rte").items()}
    for key in ("run", "live", "checkpoints"):
        layout[key] = workdir / into / run_layout(run, "rte")[key]
    for key in ("finetuned_teacher", "assistant", "anchors"):
        layout[key] = workdir / inputs / run_layout(run, "rte")[key]
    return RunPaths(**layout)


def train_all(workdir: Path, into: str, inputs: str) -> None:
    params = load_params(workdir / "params.yaml")
    for run in RUNS:
        train_run(params, get_task("rte"), run_spec(params, run), paths(workdir, into, inputs, run))


if __name__ == "__main__":
    workdir, into, inputs = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    os.chdir(workdir)
    train_all(workdir, into, inputs)
