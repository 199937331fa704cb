"""A run (pipeline/settings/runs.py's RunSpec) on each task, from params to run directories.

A run directory holds `model/` (the best student: a normal model directory with its
tokenizer), `outputs/` (its logits on the dev and test splits) and `summary.json`; DVCLive's
logs go to a sibling live directory. Both appear only when the run is complete; until then
checkpoints/RUN/TASK holds what a rerun resumes from, and afterwards the finished run, which
a later stage copies instead of training it again (pipeline/training/checkpoints.py).
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from pipeline.atomic import atomic_path
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
from pipeline.results.outputs import output_keys, save_outputs
from pipeline.results.summary import RunSummary
from pipeline.settings.params import Params
from pipeline.settings.runs import RunSpec
from pipeline.training.batches import held_out_split
from pipeline.training.checkpoints import ExtraOutput, FinishedRuns, fingerprint, remove_unfinished
from pipeline.training.loop import LoopConfig, RunData, RunDirs, train

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


def _assistant(params: Params, task: Task, spec: RunSpec, paths: RunPaths):
    """An assistant before training: the pre-trained teacher's first layers (TAKD), under the
    student's head: a model between the two, cut from the teacher as the student is."""
    from transformers import AutoConfig

    from pipeline.methods.takd import assistant_layers
    from pipeline.models.mean_pooled import mean_pooled_copy

    teacher = load_task_model(paths.pretrained / "teacher", task)
    depth = assistant_layers(params.method_settings(spec.method).assistant_layers, teacher.config.num_hidden_layers,
                             AutoConfig.from_pretrained(paths.pretrained / "student").num_hidden_layers)
    assistant = keep_first_layers(teacher, depth, f"{spec.method} assistant")
    return mean_pooled_copy(assistant) if params.model.student.pooling == "mean" else assistant


def _anchor_dirs(anchors: Path) -> list[Path]:
    """finetune-teacher's anchors in the order they were saved (anchor-1, anchor-2, ...)."""
    return sorted(anchors.glob("anchor-*"), key=lambda path: int(path.name.split("-")[1]))


def _initial_student(params: Params, task: Task, spec: RunSpec, paths: RunPaths):
    """The model the run trains, before training (the "student" of the loop)."""
    if spec.student == "teacher-layers":
        return _assistant(params, task, spec, paths)
    return load_task_model(paths.pretrained / spec.student, task)  # models/TASK/student or /teacher


def _initial_teacher(params: Params, task: Task, spec: RunSpec, paths: RunPaths):
    """The run's teacher, before training, or None."""
    if spec.teacher == "pretrained":  # ProKT, LGTM: the pre-trained teacher learns beside the student
        return load_task_model(paths.pretrained / "teacher", task)
    if spec.teacher == "anchors":  # RCO: the fine-tuned teacher's anchors, one after another
        from pipeline.distill.anchors import AnchorRoute

        anchors, wanted = _anchor_dirs(paths.anchors), params.method_settings(spec.method).anchors
        if len(anchors) != wanted:
            raise InputError(f"{paths.anchors}: {len(anchors)} anchors; {spec.method}.anchors asks for {wanted}: "
                             "run the finetune-teacher stage first")
        return AnchorRoute([load_task_model(path, task) for path in anchors])
    teacher = _teacher_file(spec, paths)  # KD: the teacher fine-tuned alone; TAKD: its assistant
    return None if teacher is None else load_task_model(teacher, task)


def _initial_models(params: Params, task: Task, spec: RunSpec, paths: RunPaths):
    """(student, teacher or None) of a run, before training."""
    student, teacher = _initial_student(params, task, spec, paths), _initial_teacher(params, task, spec, paths)
    if spec.teacher == "pretrained" and getattr(params.method_settings(spec.method), "init_classifier_to_zero", False):
        zero_classifier(student)  # ProKT's and LGTM's knob
        zero_classifier(teacher)
    return student, teacher


def _teacher_file(spec: RunSpec, paths: RunPaths) -> Path | None:
    """The file input a run's teacher is loaded from, if it is another run's output."""
    return {"finetuned": paths.finetuned_teacher, "assistant": paths.assistant,
            "anchors": paths.anchors}.get(spec.teacher)


def run_fingerprint(params: Params, task: Task, spec: RunSpec, paths: RunPaths, processes: int = 1) -> str:
    """What the run's result depends on: the settings it reads (RunSpec.settings), its input
    files, the code, and the processes it is split across (the launch's, which a config file
    may set)."""
    inputs = [paths.tokenized, paths.pretrained]
    if (teacher := _teacher_file(spec, paths)) is not None:
        inputs.append(teacher)
    return fingerprint(spec.settings(params, task.name, processes), inputs)


def _extra_outputs(spec: RunSpec, paths: RunPaths) -> list[ExtraOutput]:
    """The spec's outputs of their own beside its run and live directories (its anchors)."""
    return [ExtraOutput("anchors", paths.anchors)] if spec.anchors else []


def _copy_finished(finished: FinishedRuns, spec: RunSpec, paths: RunPaths) -> None:
    with atomic_path(paths.run) as run_dir, atomic_path(paths.live) as live_dir, ExitStack() as stack:
        extras = [replace(extra, path=stack.enter_context(atomic_path(extra.path)))
                  for extra in _extra_outputs(spec, paths)]
        finished.restore(run_dir, live_dir, extras)


def train_run(params: Params, task: Task, spec: RunSpec, paths: RunPaths) -> RunSummary:
    """The run `spec` of `task`, into `paths.run`: copied from its finished run if one of the
    same fingerprint is kept, trained otherwise. Inside a launch every process trains and only
    the main one writes (pipeline/launch.py)."""
    state = process_state()
    run_print = run_fingerprint(params, task, spec, paths, state.num_processes)
    finished = FinishedRuns(paths.checkpoints)
    if kept := finished.find(run_print):
        if state.is_main_process:
            _copy_finished(finished, spec, paths)
            log.info("%s %s: the finished run of these params, inputs and code is kept: copied, not trained",
                     task.name, spec.name)
        return RunSummary.read(kept / "run" / "summary.json")
    summary = _train_and_write(params, task, spec, paths, run_print, state)
    if state.is_main_process:
        finished.keep(paths.run, paths.live, run_print, _extra_outputs(spec, paths))
        remove_unfinished(paths.checkpoints)  # the run is complete: nothing to resume
    return summary


def _run_data(params: Params, task: Task, paths: RunPaths) -> RunData:
    import datasets

    splits = datasets.load_from_disk(str(paths.tokenized))
    train_set, selection_set, held_set = selection_and_held_out(params, task, splits)
    return RunData(load_tokenizer(paths.pretrained / "student"), train_set, selection_set, held_set,
                   {key: splits[key] for key in output_keys(task)})


def _train_and_write(params: Params, task: Task, spec: RunSpec, paths: RunPaths, run_print: str,
                     state) -> RunSummary:
    """Train the run and write its directories (each renamed into place when complete)."""
    data = _run_data(params, task, paths)
    student, teacher = _initial_models(params, task, spec, paths)
    summary = RunSummary(method=spec.name, selection_metric=task.selection_metric, best_step=None, best=None,
                         teacher_best=None, teacher_best_step=None, steps=0, last=None, task=task.name,
                         held_out=params.held_out.source, train_examples=len(data.train_set),
                         selection_examples=len(data.selection_set))
    config = LoopConfig(task, params.train, params.method_settings(spec.method), params.seed,
                        params.launch.checkpoint_steps, run_print)
    with main_writes(paths.run, state) as run_dir, main_writes(paths.live, state) as live_dir, ExitStack() as stack:
        extras = {extra.name: stack.enter_context(main_writes(extra.path, state))
                  for extra in _extra_outputs(spec, paths)}
        if state.is_main_process:
            run_dir.mkdir()
        state.wait_for_everyone()
        dirs = RunDirs(run_dir / "model", live_dir, paths.checkpoints, run_dir, extras.get("anchors"))
        result = train(spec, config, student, teacher, data, dirs, summary)
        if state.is_main_process:
            save_outputs(run_dir / "outputs", result.outputs)
            # DVCLive's own summary would sit among the plots (dvc.yaml plots the whole live
            # directory against `step`); the run's summary.json and metrics/ hold the same facts.
            (live_dir / "metrics.json").unlink(missing_ok=True)
            (run_dir / "summary.json").write_text(result.summary.to_json())
    return result.summary


def train_runs(params: Params, tasks: list[Task], spec: RunSpec, paths_of) -> list[RunSummary]:
    """The run `spec` of every task, `launch.workers` at a time (one at a time inside a launch:
    its processes share one process group); `paths_of(task name)` gives each run's paths."""
    jobs = [partial(train_run, params, task, spec, paths_of(task.name)) for task in tasks]
    # What every run imports, imported once before the runs fork: seconds per run otherwise.
    import datasets  # noqa: F401

    for role in ("student", "teacher"):
        import_model_code(paths_of(tasks[0].name).pretrained / role)
    return run_jobs(jobs, 1 if inside_launch() else params.launch.worker_count(len(jobs)))
