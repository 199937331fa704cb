"""Whether a comparison's runs leave room to tell methods apart: three checks on their dev
scores, shown under the paper table (`python -m stages paper-table`).

1. No run keeps a model that predicts one class for every dev row: such a run measures where
   training stopped, not what its method does. A constant run that a method's definition
   explains (SKD on a two-class task) still fails the check; its finding says why.
2. The teacher fine-tuned alone beats the student fine-tuned alone by MIN_TEACHER_LEAD points
   or more on every task and seed: without that lead there is nothing to distil.
3. The teachers that DML, ProKT and LGTM (the methods registered as training a teacher from
   the pre-trained one) train beside their student
   end within MAX_JOINT_TEACHER_LAG points of the teacher fine-tuned alone: a joint
   teacher far behind would make the comparison one of teachers, not of methods.

Each check compares runs of one held-out mode, task and seed (at every student learning rate
of the records); scores are each run's kept checkpoint on its selection split, x100.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from pipeline.glue.tasks import TASKS
from pipeline.methods.registry import METHODS
from pipeline.reporting.experiments import RunRecord
from pipeline.reporting.paper_table import row_label, row_of
from pipeline.reporting.results_table import task_label
from pipeline.settings.runs import reported_run

MIN_TEACHER_LEAD = 3.0  # points
MAX_JOINT_TEACHER_LAG = 3.0  # points


@dataclass(frozen=True)
class RoomCheck:
    claim: str
    holds: bool | None  # None: no run it applies to
    findings: list[str]  # a line per run or (task, seed) measured


def _where(record: RunRecord) -> str:
    return f"{task_label(record.task, record.data_source)} seed {record.seed} rate {record.learning_rate:g} ({record.held_out})"


def _why_constant(record: RunRecord) -> str:
    """What the method's definition says about a constant run of it (its MethodInfo), or ''."""
    info = METHODS.get(record.run)
    if info and info.constant_on_two_classes and TASKS[record.task].num_labels == 2:
        return f" ({info.label} on two classes: {info.constant_on_two_classes})"
    return ""


def no_constant_prediction(records: list[RunRecord]) -> RoomCheck:
    findings, measured = [], 0
    for record in records:
        shares = record.metrics.get("largest_predicted_class")
        if not shares:
            continue
        measured += 1
        for split, share in shares.items():
            if share >= 1.0:
                findings.append(f"{row_label(row_of(record))} on {_where(record)}: one class for every "
                                f"{split} row{_why_constant(record)}")
    claim = "no run keeps a model that predicts one class for every dev row"
    if not measured:
        return RoomCheck(claim, None, ["no run's metrics have largest_predicted_class (evaluated before it existed)"])
    return RoomCheck(claim, not findings, findings or [f"{measured} runs, largest predicted class below 100 % in each"])


def _by_point(records: list[RunRecord]) -> dict[tuple, dict[str, list[RunRecord]]]:
    grouped: dict[tuple, dict[str, list[RunRecord]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        grouped[record.held_out, record.task, record.seed][record.run].append(record)
    return grouped


def _teacher_alone(runs: dict[str, list[RunRecord]]) -> RunRecord | None:
    alone = [record for run, found in runs.items() if not reported_run(run).at_student_rate for record in found]
    return alone[0] if alone else None


def teacher_leads_student(records: list[RunRecord]) -> RoomCheck:
    findings, holds = [], None
    for (held_out, task, seed), runs in sorted(_by_point(records).items()):
        teacher = _teacher_alone(runs)
        students = [record for run, found in runs.items()
                    if reported_run(run).at_student_rate and METHODS[run].teacher == "none" for record in found]
        if teacher is None:
            continue
        for student in students:
            lead = 100 * (teacher.selection_score - student.selection_score)
            holds = (holds is not False) and lead >= MIN_TEACHER_LEAD
            findings.append(f"{_where(student)}: teacher {100 * teacher.selection_score:.2f}, "
                            f"student alone {100 * student.selection_score:.2f}, lead {lead:.2f}")
    return RoomCheck(f"the teacher fine-tuned alone beats the student fine-tuned alone by {MIN_TEACHER_LEAD:g} "
                     "points or more on every task and seed", holds, findings)


def _trains_a_joint_teacher(run: str) -> bool:
    info = METHODS.get(run)
    return info is not None and info.trains_teacher and info.teacher == "pretrained"


def joint_teachers_keep_up(records: list[RunRecord]) -> RoomCheck:
    findings, holds = [], None
    for (held_out, task, seed), runs in sorted(_by_point(records).items()):
        teacher = _teacher_alone(runs)
        if teacher is None:
            continue
        for run, found in runs.items():
            if not _trains_a_joint_teacher(run):
                continue
            for record in found:
                best = record.metrics.get("teacher_best") or {}
                metric = record.metrics["selection"]["selection_metric"]
                if metric not in best:
                    continue
                lag = 100 * (teacher.selection_score - best[metric])
                holds = (holds is not False) and lag <= MAX_JOINT_TEACHER_LAG
                findings.append(f"{row_label(row_of(record))} on {_where(record)}: its teacher "
                                f"{100 * best[metric]:.2f}, the teacher alone {100 * teacher.selection_score:.2f}, "
                                f"{'behind' if lag >= 0 else 'ahead'} by {abs(lag):.2f}")
    joint = ", ".join(info.label for name, info in METHODS.items() if _trains_a_joint_teacher(name))
    return RoomCheck(f"the teachers {joint} train from the pre-trained one end within "
                     f"{MAX_JOINT_TEACHER_LAG:g} points of the teacher fine-tuned alone", holds, findings)


def room_checks(records: list[RunRecord]) -> list[RoomCheck]:
    """The three checks on `records` (one preset's current runs)."""
    return [no_constant_prediction(records), teacher_leads_student(records), joint_teachers_keep_up(records)]
