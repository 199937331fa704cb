"""The runs of a method (or of the teacher alone), one per task, from params to run directories.

A run directory holds `model/` (the best student: a normal model directory with its
tokenizer), `outputs/` (its logits on the dev and test splits) and `summary.json`; DVCLive's
logs go to a sibling live directory. Both appear only when the run is complete; until then
checkpoints/RUN/TASK holds what a rerun resumes from, and afterwards the finished run, which
a later stage copies instead of training it again (pipeline/training/checkpoints.py).
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from pipeline.atomic import atomic_path
from pipeline.distill.steps import STEPS
from pipeline.errors import InputError
from pipeline.glue.tasks import Task
from pipeline.launch import inside_launch, main_writes, process_state
from pipeline.models.loading import (
    import_model_code,
    keep_first_layers,
    load_task_model,
    load_tokenizer,
    zero_classifier,
)
from pipeline.parallel import run_jobs
from pipeline.reporting.outputs import output_keys, save_outputs
from pipeline.reporting.summary import RunSummary
from pipeline.settings.methods import FINETUNE_TEACHER, METHODS, assistant_run
from pipeline.settings.params import Params
from pipeline.training.batches import held_out_split
from pipeline.training.checkpoints import FinishedRuns, fingerprint, remove_unfinished
from pipeline.training.loop import RunData, RunDirs, train

log = logging.getLogger("train")


@dataclass(frozen=True)
class RunPaths:
    tokenized: Path  # data/tokenized/TASK
    pretrained: Path  # models/TASK (teacher/, student/)
    finetuned_teacher: Path  # runs/finetune-teacher/TASK/model (the frozen teacher of KD)
    assistant: Path  # runs/METHOD-assistant/TASK/model (TAKD's teacher)
    anchors: Path  # runs/teacher-anchors/TASK: finetune-teacher's anchors (RCO's teachers)
    run: Path  # runs/RUN/TASK
    live: Path  # live/RUN/TASK
    checkpoints: Path  # checkpoints/RUN/TASK


def selection_and_held_out(params: Params, task: Task, splits):
    """(train, selection set, held-out set) for the held-out source in params."""
    train_set = splits["train"]
    if params.held_out.source == "train_slice":
        # Leakage-free: H comes from a slice of train held out before training; it also selects.
        train_set, held = held_out_split(train_set, params.held_out.fraction, params.seed)
        return train_set, held, held
    dev = splits[task.dev_splits[0].name]  # the authors: H from dev, which also selects
    return train_set, dev, dev


def _assistant_of(run: str) -> str | None:
    """The method whose assistant `run` is (takd-assistant: takd), if it is one."""
    return next((name for name, info in METHODS.items() if info.teacher == "assistant" and run == assistant_run(name)),
                None)


def _method_of(run: str) -> str:
    """finetune-teacher is the finetune step applied to the teacher; an assistant is trained by
    its method's own step (TAKD: KD from the fine-tuned teacher)."""
    return "finetune" if run == FINETUNE_TEACHER else _assistant_of(run) or run


def _assistant(params: Params, task: Task, method: str, paths: RunPaths):
    """The assistant before training: the pre-trained teacher's first layers (TAKD)."""
    from transformers import AutoConfig

    from pipeline.distill.takd import assistant_layers

    teacher = load_task_model(paths.pretrained / "teacher", task)
    depth = assistant_layers(params.method_settings(method).assistant_layers, teacher.config.num_hidden_layers,
                             AutoConfig.from_pretrained(paths.pretrained / "student").num_hidden_layers)
    return keep_first_layers(teacher, depth, f"{method} assistant")


def _anchor_dirs(anchors: Path) -> list[Path]:
    """finetune-teacher's anchors in the order they were saved (anchor-1, anchor-2, ...)."""
    return sorted(anchors.glob("anchor-*"), key=lambda path: int(path.name.split("-")[1]))


def _models(params: Params, task: Task, run: str, paths: RunPaths):
    """(student, teacher or None) of a run, before training."""
    if run == FINETUNE_TEACHER:  # the teacher trained alone takes the student's slot
        return load_task_model(paths.pretrained / "teacher", task), None
    if (method := _assistant_of(run)) is not None:  # the assistant takes the student's slot
        return _assistant(params, task, method, paths), load_task_model(paths.finetuned_teacher, task)
    info = METHODS[run]
    student = load_task_model(paths.pretrained / "student", task)
    if info.teacher == "pretrained":  # ProKT, LGTM: the pre-trained teacher learns beside the student
        teacher = load_task_model(paths.pretrained / "teacher", task)
        if getattr(params.method_settings(run), "init_classifier_to_zero", False):  # ProKT's and LGTM's knob
            zero_classifier(student)
            zero_classifier(teacher)
        return student, teacher
    if info.teacher == "finetuned":  # KD: the teacher fine-tuned alone, frozen
        return student, load_task_model(paths.finetuned_teacher, task)
    if info.teacher == "assistant":  # TAKD: the assistant distilled from that teacher
        return student, load_task_model(paths.assistant, task)
    if info.teacher == "anchors":  # RCO: that teacher's anchors, one after another
        from pipeline.distill.rco import AnchorRoute

        anchors = _anchor_dirs(paths.anchors)
        if len(anchors) != params.method_settings(run).anchors:
            raise InputError(f"{paths.anchors}: {len(anchors)} anchors; {run}.anchors asks for "
                             f"{params.method_settings(run).anchors}: run the finetune-teacher stage first")
        return student, AnchorRoute([load_task_model(path, task) for path in anchors])
    return student, None


def _teacher_input(run: str, paths: RunPaths) -> Path | None:
    """The file input a run's teacher is loaded from, if any."""
    if run == FINETUNE_TEACHER:
        return None
    if _assistant_of(run) is not None:
        return paths.finetuned_teacher
    return {"finetuned": paths.finetuned_teacher, "assistant": paths.assistant,
            "anchors": paths.anchors}.get(METHODS[run].teacher)


def learning_rates(params: Params, run: str) -> dict[str, float | None]:
    """The base rates of the run's optimizers: its student's (finetune-teacher trains the teacher
    alone, at the teacher's rate) and, for a method that trains its teacher, the teacher's."""
    method = _method_of(run)
    student = params.train.teacher_learning_rate if run == FINETUNE_TEACHER else params.train.learning_rate
    step = STEPS[method]()
    teacher = step.teacher_learning_rate(params.train, params.method_settings(method)) if step.info.trains_teacher \
        else None
    return {"student": student, "teacher": teacher}


def run_fingerprint(params: Params, task: Task, run: str, paths: RunPaths, processes: int = 1) -> str:
    """What the run's result depends on: the params it reads, its input files, the code, and
    the processes it is split across (the launch's, which a config file may set: the same
    global batch on more processes sums in another order and draws other dropout masks)."""
    method = _method_of(run)
    # The two base rates enter as the rates the run uses, not as `train` keys: a change of the
    # student's rate must not retrain the teacher fine-tuned alone, nor the teacher's rate KD.
    shared = params.train.model_dump(exclude={"learning_rate", "teacher_learning_rate"})
    settings = {"task": task.name, "run": run, "seed": params.seed, "processes": processes, "train": shared,
                "learning_rates": learning_rates(params, run), "held_out": params.held_out.model_dump(),
                method: params.method_settings(method).model_dump()}
    if run == FINETUNE_TEACHER:
        settings["anchors"] = params.teacher_anchors()
    inputs = [paths.tokenized, paths.pretrained]
    if (teacher := _teacher_input(run, paths)) is not None:
        inputs.append(teacher)
    return fingerprint(settings, inputs)


def train_run(params: Params, task: Task, run: str, paths: RunPaths) -> RunSummary:
    """The run `run` (a method, or finetune-teacher) of `task`, into `paths.run`: copied from its
    finished run if one of the same fingerprint is kept, trained otherwise. Inside a launch
    every process trains and only the main one writes (pipeline/launch.py)."""
    state = process_state()
    main = state.is_main_process
    run_print = run_fingerprint(params, task, run, paths, state.num_processes)
    finished = FinishedRuns(paths.checkpoints)
    anchors = params.teacher_anchors() if run == FINETUNE_TEACHER else 0
    if kept := finished.find(run_print):
        if main:
            with atomic_path(paths.run) as run_dir, atomic_path(paths.live) as live_dir, \
                    _anchors_path(paths, anchors) as anchors_dir:
                finished.restore(run_dir, live_dir, anchors_dir)
            log.info("%s %s: the finished run of these params, inputs and code is kept: copied, not trained",
                     task.name, run)
        return RunSummary.read(kept / "run" / "summary.json")

    import datasets

    splits = datasets.load_from_disk(str(paths.tokenized))
    train_set, selection_set, held_set = selection_and_held_out(params, task, splits)
    data = RunData(train_set, selection_set, held_set, {key: splits[key] for key in output_keys(task)})
    tokenizer = load_tokenizer(paths.pretrained / "student")
    student, teacher = _models(params, task, run, paths)
    summary = RunSummary(method=run, selection_metric=task.selection_metric, best_step=None, best=None,
                         teacher_best=None, teacher_best_step=None, steps=0, last=None, task=task.name,
                         held_out=params.held_out.source, train_examples=len(train_set),
                         selection_examples=len(selection_set))
    method = _method_of(run)
    rates = learning_rates(params, run)

    with main_writes(paths.run, state) as run_dir, main_writes(paths.live, state) as live_dir, \
            main_writes(paths.anchors if anchors else None, state) as anchors_dir:
        if main:
            run_dir.mkdir()
        state.wait_for_everyone()
        result = train(
            STEPS[method](), task=task, student=student, teacher=teacher, tokenizer=tokenizer, data=data,
            train=params.train, settings=params.method_settings(method), student_learning_rate=rates["student"],
            seed=params.seed, checkpoint_steps=params.launch.checkpoint_steps,
            dirs=RunDirs(run_dir / "model", live_dir, paths.checkpoints, anchors_dir, run_dir), fingerprint=run_print,
            summary=summary, anchors=anchors,
        )
        if not main:
            return result.summary
        save_outputs(run_dir / "outputs", result.outputs)
        # DVCLive's own summary would sit among the plots (dvc.yaml plots the whole live
        # directory against `step`); the run's summary.json and metrics/ hold the same facts.
        (live_dir / "metrics.json").unlink(missing_ok=True)
        (run_dir / "summary.json").write_text(result.summary.to_json())
    finished.keep(paths.run, paths.live, run_print, paths.anchors if anchors else None)
    remove_unfinished(paths.checkpoints)  # the run is complete: nothing to resume
    return result.summary


def _anchors_path(paths: RunPaths, anchors: int):
    """Where a run writes its anchors (written beside and renamed in), or nowhere."""
    return atomic_path(paths.anchors) if anchors else nullcontext(None)


def train_runs(params: Params, tasks: list[Task], run: str, paths_of) -> list[RunSummary]:
    """The run `run` of every task, `launch.workers` at a time (one at a time inside a launch:
    its processes share one process group); `paths_of(task name)` gives each run's paths."""
    jobs = [partial(train_run, params, task, run, paths_of(task.name)) for task in tasks]
    # What every run imports, imported once before the runs fork: seconds per run otherwise.
    import datasets  # noqa: F401

    for role in ("student", "teacher"):
        import_model_code(paths_of(tasks[0].name).pretrained / role)
    return run_jobs(jobs, 1 if inside_launch() else params.launch.worker_count(len(jobs)))
