"""Every run the pipeline trains, as a `RunSpec` built here and nowhere else from params.

A run is one model trained by one method on each task, into runs/NAME/TASK. Beside the
methods' own runs (a run per method, named like it) there are two kinds: the teacher
fine-tuned alone (finetune-teacher: the finetune method applied to the pre-trained teacher,
which also saves RCO's anchors) and a method's assistant (takd-assistant: TAKD's method
applied to the pre-trained teacher's first layers, distilled from the fine-tuned teacher).
What differs between them is data in the spec, not a branch on the run's name: the code that
loads, trains and fingerprints a run reads its spec alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pipeline.errors import InputError
from pipeline.methods.base import TeacherSource
from pipeline.methods.registry import METHODS, STEPS

if TYPE_CHECKING:
    from pipeline.settings.params import Params

# The teacher fine-tuned alone: the table's teacher row, and the teacher of the methods that
# start from a fine-tuned one. A run beside the methods' (runs/finetune-teacher/TASK), not a
# method a user lists.
FINETUNE_TEACHER = "finetune-teacher"
FINETUNE_TEACHER_LABEL = "Teacher"
# The teacher's anchors for RCO: an extra output of finetune-teacher (runs/teacher-anchors/TASK).
TEACHER_ANCHORS = "teacher-anchors"

# What the trained model starts from: the pre-trained student, the pre-trained teacher, or
# the pre-trained teacher's first layers (an assistant, TAKD's).
ModelSource = Literal["student", "teacher", "teacher-layers"]


def assistant_run(method: str) -> str:
    """The run of a method's assistant (runs/takd-assistant/TASK), distilled from the teacher."""
    return f"{method}-assistant"


@dataclass(frozen=True)
class ReportedRun:
    """What the reports need to know of a run whose results they show, params aside."""

    name: str  # its directories: runs/NAME/TASK, metrics/NAME/TASK.json, live/NAME/TASK
    label: str  # its row in the results table
    summary_key: str  # its key in summary.json
    model: ModelSource  # the pre-trained model it fine-tunes
    assistant: str | None  # the run of the assistant that teaches it (TAKD's), if any

    @property
    def at_student_rate(self) -> bool:
        """Whether it trains at the student's learning rate (the teacher alone trains at the teacher's)."""
        return self.model != "teacher"


def reported_run(name: str) -> ReportedRun | None:
    """The run `name` as the reports read it: the teacher alone or a method's; None for any other name."""
    if name == FINETUNE_TEACHER:
        return ReportedRun(name, FINETUNE_TEACHER_LABEL, "teacher", model="teacher", assistant=None)
    info = METHODS.get(name)
    if info is None:
        return None
    return ReportedRun(name, info.label, name, model="student",
                       assistant=assistant_run(name) if info.teacher == "assistant" else None)


def reported_runs(methods: list[str]) -> list[str]:
    """The runs a report shows for `methods`: the teacher alone, then each method's."""
    return [FINETUNE_TEACHER, *methods]


def run_label(run: str) -> str:
    """The results-table row of a run directory's name (a method, or the teacher alone)."""
    return reported_run(run).label


@dataclass(frozen=True)
class RunSpec:
    name: str  # its directories: runs/NAME/TASK, live/NAME/TASK, checkpoints/NAME/TASK
    method: str  # the method whose step trains it (pipeline/methods/), and whose params section it reads
    student: ModelSource  # what the trained model (the "student" of the loop) starts from
    teacher: TeacherSource  # where its teacher comes from
    student_learning_rate: float
    teacher_learning_rate: float | None  # None: the run trains no teacher
    # Extra output: how many anchors it saves along training (runs/teacher-anchors/TASK);
    # None for a run that has no such output (0: it has one, left empty).
    anchors: int | None = None

    @property
    def learning_rates(self) -> dict[str, float | None]:
        """The base rates of its optimizers, as its fingerprint records them."""
        return {"student": self.student_learning_rate, "teacher": self.teacher_learning_rate}

    @property
    def samples_file(self) -> str | None:
        """Extra output: where in its run directory its step's per-sample rows go, if any."""
        return STEPS[self.method].samples_file

    def settings(self, params: Params, task: str, processes: int) -> dict:
        """Every setting the run reads, for its fingerprint: the shared training keys, the
        rates it trains at, its method's section, and the processes it is split across (the
        same global batch on more processes sums in another order and draws other dropout)."""
        # The two base rates enter as the rates the run uses, not as `train` keys: a change of
        # the student's rate must not retrain the teacher fine-tuned alone, nor the teacher's KD.
        shared = params.train.model_dump(exclude={"learning_rate", "teacher_learning_rate"})
        settings = {"task": task, "run": self.name, "seed": params.seed, "processes": processes, "train": shared,
                    "learning_rates": self.learning_rates, "held_out": params.held_out.model_dump(),
                    self.method: params.method_settings(self.method).model_dump()}
        if self.anchors is not None:
            settings["anchors"] = self.anchors
        return settings


def _spec(params: Params, name: str, method: str, *, student: ModelSource, teacher: TeacherSource,
          student_learning_rate: float, anchors: int | None = None) -> RunSpec:
    step = STEPS[method]()
    teacher_rate = step.teacher_learning_rate(params.train, params.method_settings(method)) \
        if step.info.trains_teacher else None
    return RunSpec(name, method, student, teacher, student_learning_rate, teacher_rate, anchors)


def run_specs(params: Params) -> dict[str, RunSpec]:
    """Every run, by name: the teacher fine-tuned alone, the assistants, then every method's own."""
    rate = params.train.learning_rate
    specs = [_spec(params, FINETUNE_TEACHER, "finetune", student="teacher", teacher="none",
                   student_learning_rate=params.train.teacher_learning_rate, anchors=params.teacher_anchors())]
    specs += [_spec(params, assistant_run(name), name, student="teacher-layers", teacher="finetuned",
                    student_learning_rate=rate)
              for name, info in METHODS.items() if info.teacher == "assistant"]
    specs += [_spec(params, name, name, student="student", teacher=info.teacher, student_learning_rate=rate)
              for name, info in METHODS.items()]
    return {spec.name: spec for spec in specs}


def run_spec(params: Params, name: str) -> RunSpec:
    """The run named `name` (runs/NAME/TASK)."""
    specs = run_specs(params)
    if name not in specs:
        raise InputError(f"{name!r} is not a run of the pipeline: {', '.join(specs)}")
    return specs[name]
