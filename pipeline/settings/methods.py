"""Every training method by name: its own `params.yaml` section (named like the method), where
its teacher comes from, what it trains, and its row in the results table.

A method sees only its knobs: `dvc exp run -S lgtm.radius=0.1` reruns LGTM's runs, no other.
Defaults are not here: conf/base.yaml writes every key, the one place for defaults. The order
of METHODS is the results table's row order; the step functions are in pipeline/distill/.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from pipeline.settings.section import Section

# The teacher fine-tuned alone: the table's teacher row, and the teacher of the methods that
# start from a fine-tuned one. A run beside the methods' (runs/TASK/finetune-teacher), made
# by the finetune step, not a method a user lists.
FINETUNE_TEACHER = "finetune-teacher"
FINETUNE_TEACHER_LABEL = "Teacher"


class FinetuneSettings(Section):
    """The student alone on the labels: nothing to set."""


class KdSettings(Section):
    alpha_kd: float = Field(ge=0.0, le=1.0, description="student: weight of KL(teacher || student) against CE")
    temperature: float = Field(gt=0.0)


class ProktSettings(KdSettings):
    t_alpha_kd: float = Field(ge=0.0, le=1.0, description="teacher: weight of KL(student || teacher) against CE")
    init_classifier_to_zero: bool = Field(description="both classification heads start at zero")


class LgtmSettings(ProktSettings):
    radius: float = Field(gt=0.0, description="finite-difference radius r; the step is R = r / ||v||")
    mode: Literal["fast", "faithful"]
    influence: Literal["finite_difference", "jvp"]


# What a method's runs start from, which is also its group in params.yaml's `methods` and its
# stage in dvc.yaml: a run waits for what it starts from, and for nothing else.
STARTS_FROM = {
    "none": "pretrained",  # the student alone, from its pre-trained checkpoint
    "pretrained": "pretrained",  # a teacher from its pre-trained checkpoint too, trained beside
    "finetuned": "teacher",  # the teacher fine-tuned alone (finetune-teacher), frozen
}


@dataclass(frozen=True)
class MethodInfo:
    name: str  # in params.yaml's `methods`, the run directory, and the method's params section
    label: str  # its row in the results table
    settings: type[Section]  # the schema of its params section
    # Where a run's teacher comes from: none; the teacher fine-tuned alone (finetune-teacher);
    # or the pre-trained checkpoint, trained beside the student.
    teacher: Literal["none", "finetuned", "pretrained"]
    trains_teacher: bool = False
    uses_held_out: bool = False  # draws a held-out batch each step (see the `held_out` section)

    @property
    def starts_from(self) -> str:
        """Its group in params.yaml's `methods` (STARTS_FROM)."""
        return STARTS_FROM[self.teacher]


METHODS: dict[str, MethodInfo] = {
    info.name: info
    for info in (
        MethodInfo("finetune", "Student (fine-tuned)", FinetuneSettings, teacher="none"),
        MethodInfo("kd", "KD", KdSettings, teacher="finetuned"),
        MethodInfo("prokt", "ProKT", ProktSettings, teacher="pretrained", trains_teacher=True),
        MethodInfo("lgtm", "LGTM", LgtmSettings, teacher="pretrained", trains_teacher=True, uses_held_out=True),
    )
}


def run_label(run: str) -> str:
    """The results-table row of a run directory's name (a method, or the teacher alone)."""
    return FINETUNE_TEACHER_LABEL if run == FINETUNE_TEACHER else METHODS[run].label
