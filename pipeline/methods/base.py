"""What a training method is: its metadata (`MethodInfo`) and the interface of its step (`Method`).

Each module of this package is one method: its params section, its `MethodInfo` and its step
class. pipeline/methods/registry.py finds them; `Params`, the paper table's rows, the fp16
check and the stages' method groups are read from there.

Why nothing here, nor in a method's module, imports torch at module level: the params check
and the reporting stages read every method's settings and labels, and must start in a second
(importing torch costs about two). So a step imports its tensor math (pipeline/distill/) inside
the function that runs it, which only a training run calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

from pipeline.settings.section import Section

if TYPE_CHECKING:
    import torch

    from pipeline.distill.context import StepContext

# Where a run's teacher comes from: nothing; the teacher fine-tuned alone (finetune-teacher),
# frozen; the pre-trained checkpoint, trained beside the student; an assistant distilled from
# the fine-tuned teacher; or checkpoints along the teacher's fine-tuning (its anchors).
TeacherSource = Literal["none", "finetuned", "pretrained", "assistant", "anchors"]

# What a method's runs start from, which is also its group in params.yaml's `methods` and its
# stage in dvc.yaml: a run waits for what it starts from, and for nothing else.
STARTS_FROM = {
    "none": "pretrained",  # the student alone, from its pre-trained checkpoint
    "pretrained": "pretrained",  # a teacher from its pre-trained checkpoint too, trained beside
    "finetuned": "teacher",  # the teacher fine-tuned alone (finetune-teacher), frozen
    "assistant": "assistant",  # an assistant distilled from the fine-tuned teacher (TAKD)
    "anchors": "anchors",  # checkpoints along the teacher's fine-tuning (RCO)
}


@dataclass(frozen=True)
class MethodInfo:
    name: str  # in params.yaml's `methods`, the run directory, and the method's params section
    label: str  # its row in the results table
    row: int  # where that row goes: the results table lists methods by increasing `row`
    settings: type[Section]  # the schema of its params section
    teacher: TeacherSource
    trains_teacher: bool = False
    # Sets the teacher's gradients itself (torch.autograd.grad), outside fp16's loss scaler:
    # such a method refuses train.mixed_precision: fp16.
    makes_teacher_gradients: bool = False
    uses_held_out: bool = False  # draws a held-out batch each step (see the `held_out` section)
    # Why the method's definition may leave its student predicting one class on a task of two
    # classes ('' where nothing does): the room checks say it beside such a run.
    constant_on_two_classes: str = ""
    # Reads the teacher's pooler output (BERT's [CLS] transform), which a mean-pooled teacher
    # (`model.teacher.pooling: mean`) has none of: the params check refuses the two together.
    reads_teacher_pooler: bool = False

    @property
    def starts_from(self) -> str:
        """Its group in params.yaml's `methods` (STARTS_FROM)."""
        return STARTS_FROM[self.teacher]


class Method:
    """A method's step over one batch, for the one training loop (pipeline/training/loop.py)."""

    info: ClassVar[MethodInfo]
    samples_file: ClassVar[str | None] = None  # where in its run directory its per-sample rows go, if any

    def samples_every(self, settings: Section, eval_steps: int) -> int:
        """Every how many steps (and at the last) the loop asks the step for per-sample rows
        (StepContext.samples); 0: never."""
        return 0

    def prepare_teacher(self, teacher: torch.nn.Module, settings: Section) -> torch.nn.Module:
        """The teacher the run trains or distils from, before its optimizer is made: a method
        that adds modules to it (PESF-KD's adapter) returns the wrapped model, whose forward
        still returns an object with `.logits`."""
        return teacher

    def teacher_learning_rate(self, train, settings: Section) -> float:
        """The base rate of the teacher's optimizer, for a method that trains the teacher: the
        rate shared by every such method (`train.teacher_learning_rate`) unless it has its own."""
        return train.teacher_learning_rate

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        """One training step; returns the losses to log."""
        raise NotImplementedError
