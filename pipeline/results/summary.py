"""The record a training run writes beside its model (runs/TASK/RUN/summary.json).

Written by the training stage, read by the evaluate stage (without torch) and by a resumed run
(from its checkpoint). Its fields are the JSON keys, in the order they are written.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

Scores = dict[str, float]  # {metric name: value}, as pipeline/results/metrics.py computes them
ONE_PROCESS = {"processes": 1, "machines": 1, "mixed_precision": None}


@dataclass
class RunSummary:
    method: str  # the run's name: a method, or finetune-teacher
    selection_metric: str  # the task's metric that picks the kept student
    best_step: int | None  # the kept student's step (None before the first evaluation)
    best: Scores | None  # its selection-split scores
    teacher_best: Scores | None  # the best teacher scores, for methods that train the teacher
    teacher_best_step: int | None
    steps: int  # the run's length
    last: Scores | None  # the last evaluation's student scores
    task: str
    held_out: str  # the held-out source: dev or train_slice
    train_examples: int
    selection_examples: int
    # How the run was launched (pipeline/training/loop.py launch_record): {"processes",
    # "machines", "mixed_precision"}. Summaries written before it was recorded read as one
    # process on one machine, mixed precision unrecorded (None).
    launch: dict = field(default_factory=lambda: dict(ONE_PROCESS))

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def read(cls, path: Path) -> RunSummary:
        return cls(**json.loads(Path(path).read_text()))
