"""Every training method by name: its own `params.yaml` section (named like the method), where
its teacher comes from, what it trains, and its row in the results table.

A method sees only its knobs: `dvc exp run -S lgtm.radius=0.1` reruns LGTM's runs, no other.
Defaults are not here: conf/base.yaml writes every key, the one place for defaults. The order
of METHODS is the results table's row order; the step functions are in pipeline/distill/.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field

from pipeline.settings.section import Section

# The teacher fine-tuned alone: the table's teacher row, and the teacher of the methods that
# start from a fine-tuned one. A run beside the methods' (runs/TASK/finetune-teacher), made
# by the finetune step, not a method a user lists.
FINETUNE_TEACHER = "finetune-teacher"
FINETUNE_TEACHER_LABEL = "Teacher"
# The teacher's anchors for RCO: a sibling output of finetune-teacher (runs/teacher-anchors/TASK).
TEACHER_ANCHORS = "teacher-anchors"


def assistant_run(method: str) -> str:
    """The run of a method's assistant (runs/takd-assistant/TASK), distilled from the teacher."""
    return f"{method}-assistant"


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
    influence_every: int | None = Field(ge=0, description="per-sample influence rows every N steps and at the last "
                                                          "(runs/lgtm/TASK/influence.parquet); null: at each "
                                                          "evaluation (train.eval_steps); 0: none")


# The baselines' settings. Each default is its reference's for BERT on GLUE, its source in
# conf/base.yaml's comment.
# --- pkd ---
class PkdSettings(KdSettings):
    """PKD (pipeline/distill/pkd.py): α · τ² · KL_τ / C + (1 − α) · CE + β · patient loss."""

    beta: float = Field(ge=0.0, description="weight of the patient loss (normalised [CLS] states of mapped layers)")
    # Each entry must lie in 1..teacher depth: the upper bound is checked by the step, which knows the depths.
    layer_map: list[Annotated[int, Field(ge=1)]] | None = Field(
        description="teacher layer (1-based) for student layers 1, 2, ...; null: PKD-skip, the last student layer left out")


# --- skd ---
class SkdSettings(KdSettings):
    """SKD (pipeline/distill/skd.py): KD and CE on layer-normalised logits times a multiplier."""

    multiplier: float = Field(gt=0.0, description="radius of the sphere the layer-normalised logits are scaled to")


# --- dist ---
class DistSettings(Section):
    """DIST (pipeline/distill/dist.py): w_ce · CE + w_kd · (β · τ² · inter + γ · τ² · intra)."""

    ce_weight: float = Field(ge=0.0, description="weight of the CE on the labels (the reference's ori_loss_weight)")
    kd_weight: float = Field(ge=0.0, description="weight of the DIST term (the reference's kd_loss_weight)")
    beta: float = Field(ge=0.0, description="inter-class relation: 1 - Pearson over the classes, per example")
    gamma: float = Field(ge=0.0, description="intra-class relation: 1 - Pearson over the batch, per class")
    temperature: float = Field(gt=0.0)


# --- dml ---
class DmlSettings(Section):
    """DML (pipeline/distill/dml.py): each model on CE + w · KL_τ(other || self)."""

    kl_weight: float = Field(ge=0.0, description="w: weight of KL(other || self) added to each model's CE")
    temperature: float = Field(gt=0.0)
    init_classifier_to_zero: bool = Field(description="both classification heads start at zero")


# --- pesfkd ---
class PesfkdSettings(Section):
    """PESF-KD (pipeline/distill/pesfkd.py): the student and the adapted teacher on one loss,
    α · τ² · MSE(softmax(T/τ), softmax(S/τ)) + (1 − α) · (CE_s + CE_t) + β · PKD."""

    alpha_kd: float = Field(ge=0.0, le=1.0, description="α: weight of the soft-target MSE against CE_s + CE_t")
    temperature: float = Field(gt=0.0)
    beta: float = Field(ge=0.0, description="β: weight of PKD's [CLS] hidden-state loss (0: not computed)")
    adapter_size: int | None = Field(gt=0, description="the adapter's bottleneck width; null: teacher hidden / 12")
    freeze_teacher_encoder: bool = Field(description="false: the whole teacher trains (the released code); true: "
                                                     "only its classifier and the adapter (what its freeze line means)")
    max_grad_norm: float | None = Field(gt=0.0, description="the student's gradient norm is clipped to it (null: not)")


# --- metadistil ---
class MetadistilSettings(Section):
    alpha: float = Field(ge=0.0, le=1.0, description="student: weight of tau^2 MSE(probabilities) against CE")
    beta: float = Field(ge=0.0, description="student: weight of PKD's [CLS] hidden-state loss (0: none)")
    temperature: float = Field(gt=0.0)
    pilot_learning_rate: float = Field(gt=0.0, description="the pilot update's plain SGD step, fixed")
    teacher_learning_rate: float = Field(gt=0.0, description="the teacher's AdamW, on the loop's schedule; "
                                         "replaces train.teacher_learning_rate")
    max_grad_norm: float = Field(gt=0.0, description="both models' gradients are clipped to this norm")


# --- end of the baselines' settings ---


class TakdSettings(KdSettings):
    """KD twice: teacher → assistant, then assistant → student, with the same α and τ."""

    assistant_layers: int | None = Field(ge=1, description="the assistant's depth: the pre-trained teacher's first "
                                                           "N layers; null: halfway, ceil((teacher + student) / 2)")


class RcoSettings(KdSettings):
    anchors: int = Field(ge=1, description="teacher checkpoints saved at equal intervals of its fine-tuning, the "
                                           "last its final state; the student distils from each for an equal share "
                                           "of its steps, in order")


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
    settings: type[Section]  # the schema of its params section
    # Where a run's teacher comes from: none; the teacher fine-tuned alone (finetune-teacher);
    # the pre-trained checkpoint, trained beside the student; an assistant distilled from the
    # fine-tuned teacher; or the anchors of the teacher's fine-tuning.
    teacher: Literal["none", "finetuned", "pretrained", "assistant", "anchors"]
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
        MethodInfo("pkd", "PKD", PkdSettings, teacher="finetuned"),
        MethodInfo("skd", "SKD", SkdSettings, teacher="finetuned"),
        MethodInfo("dist", "DIST", DistSettings, teacher="finetuned"),
        MethodInfo("takd", "TAKD", TakdSettings, teacher="assistant"),
        MethodInfo("rco", "RCO", RcoSettings, teacher="anchors"),
        MethodInfo("dml", "DML", DmlSettings, teacher="pretrained", trains_teacher=True),
        MethodInfo("prokt", "ProKT", ProktSettings, teacher="pretrained", trains_teacher=True),
        MethodInfo("pesfkd", "PESF-KD", PesfkdSettings, teacher="finetuned", trains_teacher=True),
        MethodInfo("metadistil", "MetaDistil", MetadistilSettings, teacher="finetuned", trains_teacher=True,
                   uses_held_out=True),
        MethodInfo("lgtm", "LGTM", LgtmSettings, teacher="pretrained", trains_teacher=True, uses_held_out=True),
    )
}


def run_label(run: str) -> str:
    """The results-table row of a run directory's name (a method, or the teacher alone)."""
    return FINETUNE_TEACHER_LABEL if run == FINETUNE_TEACHER else METHODS[run].label
