"""One training run of a task and method, from params to a run directory.

A run directory holds `model/` (the best student: a normal model directory with its
tokenizer), `outputs/` (its logits on the dev and test splits) and `summary.json`; DVCLive's
logs go to a sibling live directory. Both appear only when the run is complete; until then
checkpoints/TASK/RUN holds what a rerun resumes from (pipeline/checkpoints.py).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline.atomic import atomic_path
from pipeline.batches import held_out_split
from pipeline.checkpoints import fingerprint
from pipeline.distill import METHODS
from pipeline.distill.base import DistillSettings
from pipeline.models import load_task_model, load_tokenizer, zero_classifier
from pipeline.outputs import output_keys, save_outputs
from pipeline.params import FINETUNE_TEACHER, Params
from pipeline.tasks import Task
from pipeline.training import LoopSettings, OptimizerSettings, RunData, RunDirs, train


@dataclass(frozen=True)
class RunPaths:
    tokenized: Path  # data/tokenized/TASK
    pretrained: Path  # models/TASK/pretrained (teacher/, student/)
    finetuned_teacher: Path  # runs/TASK/finetune-teacher/model (KD's frozen teacher)
    run: Path  # runs/TASK/METHOD
    live: Path  # live/TASK/METHOD
    checkpoints: Path  # checkpoints/TASK/METHOD


def _optimizer_settings(params: Params, learning_rate: float) -> OptimizerSettings:
    t = params.train
    return OptimizerSettings(learning_rate, t.weight_decay, (t.adam_beta1, t.adam_beta2), t.adam_epsilon, t.warmup_ratio)


def _selection_and_held_out(params: Params, task: Task, splits):
    """(train, selection set, held-out set) for the held-out mode in params."""
    train = splits["train"]
    if params.lgtm.held_out == "train_slice":
        # Leakage-free: H comes from a slice of train held out before training; it also selects.
        train, held = held_out_split(train, params.lgtm.held_out_fraction, params.seed)
        return train, held, held
    dev = splits[task.dev_splits[0].name]  # the authors: H from dev, which also selects
    return train, dev, dev


def _models(params: Params, task: Task, method_name: str, paths: RunPaths):
    """(method, student, teacher or None, student learning rate) of a run, before training."""
    t = params.train
    if method_name == FINETUNE_TEACHER:
        # The teacher trained alone: it takes the student's slot, at the teacher's learning rate.
        return METHODS["finetune"](), load_task_model(paths.pretrained / "teacher", task), None, t.teacher_learning_rate
    method = METHODS[method_name]()
    student = load_task_model(paths.pretrained / "student", task)
    teacher = None
    if method.trains_teacher:  # ProKT, LGTM: the pre-trained teacher learns beside the student
        teacher = load_task_model(paths.pretrained / "teacher", task)
        if t.init_classifier_to_zero:
            zero_classifier(student)
            zero_classifier(teacher)
    elif method.uses_teacher:  # KD: the teacher fine-tuned alone, frozen
        teacher = load_task_model(paths.finetuned_teacher, task)
    return method, student, teacher, t.learning_rate


def _fingerprint(params: Params, task: Task, method_name: str, paths: RunPaths, method) -> str:
    """What the run's result depends on: the params it reads and its input files."""
    settings = {"task": task.name, "method": method_name, "seed": params.seed,
                "train": params.train.model_dump(exclude={"checkpoint_steps"}), "lgtm": params.lgtm.model_dump()}
    inputs = [paths.tokenized, paths.pretrained]
    if method_name != FINETUNE_TEACHER and method.uses_teacher and not method.trains_teacher:
        inputs.append(paths.finetuned_teacher)
    return fingerprint(settings, inputs)


def train_run(params: Params, task: Task, method_name: str, paths: RunPaths) -> dict:
    import datasets

    splits = datasets.load_from_disk(str(paths.tokenized))
    train_set, selection_set, held_set = _selection_and_held_out(params, task, splits)
    data = RunData(train_set, selection_set, held_set, {key: splits[key] for key in output_keys(task)})
    tokenizer = load_tokenizer(paths.pretrained / "student")
    method, student, teacher, student_lr = _models(params, task, method_name, paths)
    t = params.train
    teacher_settings = _optimizer_settings(params, t.teacher_learning_rate) if method.trains_teacher else None
    loop = LoopSettings(t.batch_size, t.eval_batch_size, t.epochs, t.eval_steps, t.checkpoint_steps, params.seed,
                        t.mixed_precision)
    lgtm = params.lgtm
    distill = DistillSettings(t.alpha_kd, t.t_alpha_kd, t.temperature, lgtm.radius, lgtm.mode, lgtm.influence)

    with atomic_path(paths.run) as run_dir, atomic_path(paths.live) as live_dir:
        run_dir.mkdir()
        summary = train(
            method, task=task, student=student, teacher=teacher, tokenizer=tokenizer, data=data,
            student_optimizer_settings=_optimizer_settings(params, student_lr),
            teacher_optimizer_settings=teacher_settings, loop=loop, distill=distill,
            dirs=RunDirs(run_dir / "model", live_dir, paths.checkpoints),
            fingerprint=_fingerprint(params, task, method_name, paths, method),
        )
        save_outputs(run_dir / "outputs", summary.pop("outputs"))
        summary.update(task=task.name, method=method_name, held_out=params.lgtm.held_out,
                       train_examples=len(train_set), selection_examples=len(selection_set))
        # DVCLive's own summary would sit among the plots (dvc.yaml plots the whole live
        # directory against `step`); the run's summary.json and metrics/ hold the same facts.
        (live_dir / "metrics.json").unlink(missing_ok=True)
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    # The run is complete: nothing to resume.
    shutil.rmtree(paths.checkpoints, ignore_errors=True)
    return summary
