"""The training stages of dvc.yaml, all in this one module: each trains one run (a RunSpec,
pipeline/settings/runs.py) on every task of `tasks`; they differ only in which runs they train.

    python -m stages.training finetune-teacher              # the teacher fine-tuned alone
    python -m stages.training train --method lgtm           # a method of methods.pretrained
    python -m stages.training distill --method kd           # a method of methods.teacher
    python -m stages.training assistant --method takd       # a method's assistant (methods.assistant)
    python -m stages.training distill-assistant --method takd   # the student from that assistant
    python -m stages.training distill-anchors --method rco  # a method of methods.anchors
    ... --task rte                                          # one task (repeatable); default: tasks

`python -m stages STAGE ...` runs the same commands. Each writes runs/RUN/TASK/ (model/: the
kept student; outputs/: its logits; summary.json) and live/RUN/TASK/ (DVCLive: per-step losses,
periodic dev metrics); finetune-teacher also writes runs/teacher-anchors/TASK/anchor-K, when
`methods.anchors` lists a method (RCO): the teacher at `rco.anchors` equal intervals of its
fine-tuning (empty otherwise). Tasks train `launch.workers` at a time; with `launch.processes`
> 1 (or an accelerate `launch.config_file`), each task's run goes under `accelerate launch` of
the same stage (pipeline/launch.py).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import typer

from stages.command import PARAMS_OPTION, run
from stages.paths import run_layout

log = logging.getLogger("train")


@dataclass(frozen=True)
class TrainingStage:
    name: str  # in dvc.yaml, and the subcommand
    group: str | None  # the group of params.yaml's `methods` whose runs it trains; None: the teacher alone
    help: str
    assistant: bool = False  # trains the assistant of each method, not the method's own run


STAGES = [
    TrainingStage("finetune-teacher", None, "Fine-tune the teacher alone (the table's teacher row, KD's frozen "
                                            "teacher) and save RCO's anchors along the way."),
    TrainingStage("train", "pretrained", "Train the student on each task with a method of methods.pretrained."),
    TrainingStage("distill", "teacher", "Train the student on each task with a method of methods.teacher."),
    TrainingStage("assistant", "assistant", "Distil each task's assistant from the fine-tuned teacher "
                                            "(TAKD's first hop).", assistant=True),
    TrainingStage("distill-assistant", "assistant", "Train the student on each task from its assistant "
                                                    "(TAKD's second hop)."),
    TrainingStage("distill-anchors", "anchors", "Train the student on each task along the teacher's anchors (RCO)."),
]

TASK_OPTION = typer.Option(None, help="A trainable GLUE task (repeatable); default: tasks.")


def check_group(method: str, group: str) -> None:
    """A stage trains the methods of one group of params.yaml's `methods`."""
    from pipeline.errors import InputError
    from pipeline.methods.registry import METHODS

    if method not in METHODS or METHODS[method].starts_from != group:
        expected = ", ".join(name for name, info in METHODS.items() if info.starts_from == group)
        raise InputError(f"--method {method!r}: this stage trains the methods of methods.{group}: {expected}")


def run_name(stage: TrainingStage, method: str | None) -> str:
    """The run a stage trains for `method`: the method's own, its assistant, or the teacher alone."""
    from pipeline.settings.runs import FINETUNE_TEACHER, assistant_run

    if stage.group is None:
        return FINETUNE_TEACHER
    check_group(method, stage.group)
    return assistant_run(method) if stage.assistant else method


def train_stage(stage: TrainingStage, method: str | None, tasks: list[str] | None, params_file: Path) -> None:
    """Train the stage's run of `method` on `tasks` (default: params.yaml's), `launch.workers` at
    a time; or, where params ask for a launch, each task in turn under `accelerate launch`."""
    from pipeline.glue.tasks import get_task
    from pipeline.launch import inside_launch, launches, leave_launch
    from pipeline.settings.params import load_params
    from pipeline.settings.runs import TEACHER_ANCHORS, run_spec
    from pipeline.training.run import RunPaths, train_runs
    from stages.paths import RUNS_ROOT

    name = run_name(stage, method)
    params = load_params(params_file)
    names = tasks or params.tasks
    glue_tasks = [get_task(task) for task in names]
    if launches(params.launch.processes, params.launch.config_file) and not inside_launch():
        for task in names:
            _launch(task, params, params_file, [stage.name, *(["--method", method] if method else [])])
    else:
        for summary in train_runs(params, glue_tasks, run_spec(params, name),
                                  lambda task: RunPaths(**run_layout(name, task))):
            log.info("%s %s: best %s %s at step %s of %s", summary.task, name, summary.selection_metric,
                     json.dumps(summary.best), summary.best_step, summary.steps)
        if inside_launch():
            leave_launch()
    if stage.group is None:
        (RUNS_ROOT / TEACHER_ANCHORS).mkdir(parents=True, exist_ok=True)  # a DVC output, even when empty


def _launch(task: str, params, params_file: Path, stage: list[str]) -> None:
    """One task's run under `accelerate launch`; its failure is the stage's, with its exit status."""
    import torch

    from pipeline.launch import free_port, launch_command
    from pipeline.parallel import die_with_parent

    launch = params.launch
    command = launch_command("stages", [*stage, "--task", task, "--params", str(params_file)],
                             processes=launch.processes, config_file=launch.config_file,
                             mixed_precision=params.train.mixed_precision, gpus=torch.cuda.device_count(),
                             port=free_port())
    log.info("%s: %s", task, " ".join(command))
    # The launcher dies with the stage, killed or not, and its processes with it
    # (stages/environment.py): none trains on, or writes, behind a killed stage.
    returncode = subprocess.run(command, preexec_fn=partial(die_with_parent, os.getpid())).returncode
    if returncode:
        raise SystemExit(returncode)


def command(stage: TrainingStage):
    """The command line function of a stage (typer reads its options from its signature)."""
    if stage.group is None:
        def main(task: list[str] | None = TASK_OPTION, params_file: Path = PARAMS_OPTION) -> None:
            train_stage(stage, None, task, params_file)
    else:
        def main(method: str = typer.Option(..., help=f"A method of params.yaml's methods.{stage.group}."),
                 task: list[str] | None = TASK_OPTION, params_file: Path = PARAMS_OPTION) -> None:
            train_stage(stage, method, task, params_file)
    main.__doc__ = stage.help
    return main


def add_commands(app: typer.Typer, **options) -> None:
    """Every training stage as a subcommand of `app`, in dvc.yaml's order."""
    for stage in STAGES:
        app.command(stage.name, **options)(command(stage))


if __name__ == "__main__":
    app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False,
                      help="The training stages of dvc.yaml.")
    add_commands(app)
    run(app)
