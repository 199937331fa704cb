"""The one training loop; methods differ only in their step (pipeline/methods/).

`train` reads top to bottom in five phases: set up (accelerator and seed; loaders; models,
optimizers and schedules, prepared by `setup`, which the benchmarks share); resume from a
checkpoint if one was written for these inputs; then, step after step, take a step (the
method's, and its logs), evaluate and keep (every `eval_steps` and at the last: score the
student, and the teacher of a method that trains one, and keep the best student), save an
anchor and a checkpoint when due; finish (the logs closed, the kept student's outputs). What
it trains, from what and at which rates is the run's spec (pipeline/settings/runs.py). The
same code runs on CPU, one GPU, or many (`accelerate launch`, pipeline/launch.py), with mixed
precision as set in params.

Across processes, each step's batch of `train.batch_size` rows (and each held-out batch) is
split between them (Accelerate's `split_batches`): the global batch, the steps and the
learning-rate schedule are those of one process, and each process takes a contiguous share of
the batch. Only the main process logs (DVCLive), saves models and writes per-sample rows.

Replay: every epoch's order is a function of (seed, epoch) alone, each loader draws from its
own generator (never the global one, which dropout uses), and a checkpoint holds the RNG
states and both iterators' positions; so on CPU a resumed run ends bit for bit where an
uninterrupted one does.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.atomic import atomic_path
from pipeline.distill.context import StepContext
from pipeline.errors import InputError, TrainingDiverged
from pipeline.glue.tasks import Task
from pipeline.methods.base import Method
from pipeline.methods.registry import STEPS
from pipeline.optim import make_optimizer
from pipeline.results.metrics import compute_metrics, predictions_from_logits
from pipeline.results.outputs import SplitOutput
from pipeline.results.summary import RunSummary, Scores
from pipeline.settings.runs import RunSpec
from pipeline.settings.section import Section
from pipeline.training.batches import BatchStream, loader
from pipeline.training.checkpoints import Checkpoints, ExtraOutput, Progress
from pipeline.training.predict import predict_logits, split_outputs
from pipeline.training.sample_log import SampleLog, due

if TYPE_CHECKING:
    from pipeline.settings.params import TrainParams

log = logging.getLogger("train")


@dataclass(frozen=True)
class LoopConfig:
    """What the loop reads besides the run's spec: the task, the shared training params, the
    method's section, and how to seed, checkpoint and show progress."""

    task: Task
    train_params: TrainParams
    settings: Section  # the params section of the spec's method
    seed: int
    checkpoint_steps: int  # a checkpoint every this many steps (0: none)
    fingerprint: str  # the run's (pipeline/training/run.py): a checkpoint of another is not resumed
    progress_bar: bool = True


@dataclass(frozen=True)
class RunData:
    tokenizer: object  # batches every split
    train_set: object  # datasets.Dataset
    selection_set: object  # picks the best student
    held_out_set: object  # the held-out batches of methods that use them
    output_sets: dict  # {split key: dataset} the kept student is applied to at the end


@dataclass(frozen=True)
class RunDirs:
    model: Path  # the best student goes here
    live: Path  # DVCLive's logs
    checkpoints: Path  # checkpoints/RUN/TASK
    run: Path | None = None  # the run directory, where a step's per-sample rows go (Method.samples_file)
    anchors: Path | None = None  # where a spec with anchors saves them (anchor-K), if it has them


@dataclass
class TrainResult:
    summary: RunSummary
    outputs: dict[str, SplitOutput]  # the kept student's logits on each of `RunData.outputs`


def setup(step: Method, student, teacher, *, train: TrainParams, settings: Section, student_learning_rate: float,
          total_steps: int, accelerator) -> StepContext:
    """The models and optimizers of a run, prepared by Accelerate: device placement, process
    sharding, mixed precision. Schedulers are registered for checkpoints, not prepared: a
    prepared one steps once per process."""
    info = step.info
    if teacher is not None:
        teacher = step.prepare_teacher(teacher, settings)
    student_optimizer, student_scheduler = make_optimizer(student, train, learning_rate=student_learning_rate,
                                                          total_steps=total_steps)
    student, student_optimizer = accelerator.prepare(student, student_optimizer)
    accelerator.register_for_checkpointing(student_scheduler)
    teacher_optimizer = teacher_scheduler = None
    if info.trains_teacher:
        teacher_optimizer, teacher_scheduler = make_optimizer(
            teacher, train, learning_rate=step.teacher_learning_rate(train, settings), total_steps=total_steps)
        teacher, teacher_optimizer = accelerator.prepare(teacher, teacher_optimizer)
        accelerator.register_for_checkpointing(teacher_scheduler)
    elif teacher is not None:
        # Frozen: no gradients, so no DistributedDataParallel; and not prepared, so that
        # checkpoints leave out weights that every run reloads from the teacher's own run
        # (a BERT-base per checkpoint). distill_student runs it under the mixed-precision autocast.
        teacher = teacher.requires_grad_(False).to(accelerator.device)
    return StepContext(student, student_optimizer, student_scheduler, teacher, teacher_optimizer, teacher_scheduler,
                       accelerator, settings, total_steps)


def held_out_loader(dataset, tokenizer, train: TrainParams):
    """Held-out batches as the authors draw them: the held-out split in its fixed order, at the
    evaluation batch size; the loop's BatchStream starts it again after its last batch."""
    return loader(dataset, tokenizer, train.eval_batch_size, shuffle=False)


def evaluate(model, data_loader, task: Task, accelerator) -> Scores:
    logits, labels = predict_logits(model, data_loader, accelerator)
    return compute_metrics(task, predictions_from_logits(task, logits), labels)


def save_model(model, tokenizer, directory: Path, accelerator) -> None:
    with atomic_path(directory) as tmp:
        accelerator.unwrap_model(model).save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)


def kept_student_outputs(model, model_dir: Path, output_sets: dict, tokenizer, batch_size: int,
                         accelerator) -> dict[str, SplitOutput]:
    """The kept (best) checkpoint's logits on `output_sets`, for the evaluate stage."""
    from safetensors.torch import load_file

    accelerator.wait_for_everyone()  # the main process saved it
    model = accelerator.unwrap_model(model)
    # Read to the CPU and copied onto the parameters' device (a launch's CPU processes are on
    # "cpu:N", which safetensors does not name).
    model.load_state_dict(load_file(model_dir / "model.safetensors"))
    return split_outputs(model, output_sets, tokenizer, batch_size, accelerator)


def anchor_steps(steps: int, anchors: int) -> list[int]:
    """RCO's equal-interval anchors: the steps that end each of `anchors` equal shares of
    training, the last the final step (its reference, KD_Lib's RCO, keeps the teacher at every
    `epoch_interval` epochs and at the end)."""
    return [math.ceil(k * steps / anchors) for k in range(1, anchors + 1)]


def run_length(train_batches: int, epochs: float) -> int:
    """Steps of a run: every batch, `epochs` times (each split across the processes)."""
    return math.ceil(train_batches * epochs)


class _NoLive:
    """What a launch's other processes log to: nothing (the main process's DVCLive logs)."""

    step = 0

    def log_metric(self, name: str, value: float) -> None:
        pass

    def end(self) -> None:
        pass


def launch_record(accelerator) -> dict:
    """How the run was launched, for its summary: processes, machines, mixed precision."""
    from pipeline.launch import machines

    return {"processes": accelerator.num_processes, "machines": machines() if accelerator.num_processes > 1 else 1,
            "mixed_precision": accelerator.mixed_precision}


@dataclass
class _Loop:
    """A run in progress, as the phases of `train` hand it on."""

    method: Method
    accelerator: object
    ctx: StepContext  # the prepared models, optimizers and schedules
    train_loader: object
    selection_loader: object
    held_loader: object | None  # for a method that uses held-out batches
    total_steps: int
    anchor_at: dict[int, int]  # {step: K} of the anchors to save (anchor-K)
    samples_every: int  # the step's per-sample rows every this many steps (0: never)
    extras: list[ExtraOutput]  # what checkpoints carry besides the best student and the logs
    checkpoints: Checkpoints
    # Set by `_resume`:
    summary: RunSummary | None = None
    first_step: int = 1
    batches: BatchStream | None = None
    held_batches: BatchStream | None = None
    live: object = None  # DVCLive, or _NoLive on a launch's other processes
    sample_log: SampleLog | None = None
    last_checkpoint: int = 0  # the step of the last checkpoint written (0: none yet)


def train(spec: RunSpec, config: LoopConfig, student, teacher, data: RunData, dirs: RunDirs,
          summary: RunSummary) -> TrainResult:
    """Train `student` (and `teacher`, for a method that trains it) as `spec` says: the best
    student (by the task's selection metric) goes to `dirs.model`, the logs to `dirs.live`,
    the spec's anchors to `dirs.anchors`/anchor-K at `anchor_steps`. `summary` is the run's
    record, filled in as it goes."""
    loop = _set_up(spec, config, student, teacher, data, dirs)
    _resume(loop, config, dirs, summary)
    started = time.perf_counter()
    with _progress_bar(loop, config) as bar:  # closed before an error is reported: the error is the last line
        for step in range(loop.first_step, loop.total_steps + 1):
            _take_step(loop, step, bar)
            if step % config.train_params.eval_steps == 0 or step == loop.total_steps:
                _evaluate_and_keep(loop, config, step, data.tokenizer, dirs.model, bar)
            if step in loop.anchor_at and loop.accelerator.is_main_process:
                save_model(loop.ctx.student, data.tokenizer, dirs.anchors / f"anchor-{loop.anchor_at[step]}",
                           loop.accelerator)
            if config.checkpoint_steps and step % config.checkpoint_steps == 0 and step < loop.total_steps:
                _checkpoint(loop, config, step, dirs)
    return _finish(loop, config, data, dirs.model, started)


def _set_up(spec: RunSpec, config: LoopConfig, student, teacher, data: RunData, dirs: RunDirs) -> _Loop:
    """Accelerator and seed; loaders; models, optimizers and schedules; then the loaders prepared."""
    train_params = config.train_params
    accelerator = _accelerator(config)
    method = STEPS[spec.method]()
    train_loader = loader(data.train_set, data.tokenizer, train_params.batch_size, shuffle=True)
    selection_loader = loader(data.selection_set, data.tokenizer, train_params.eval_batch_size, shuffle=False)
    held_loader = held_out_loader(data.held_out_set, data.tokenizer, train_params) if method.info.uses_held_out \
        else None
    total_steps = run_length(len(train_loader), train_params.epochs)

    ctx = setup(method, student, teacher, train=train_params, settings=config.settings,
                student_learning_rate=spec.student_learning_rate, total_steps=total_steps, accelerator=accelerator)
    train_loader, selection_loader = accelerator.prepare(train_loader, selection_loader)  # split across processes
    if held_loader is not None:
        held_loader = accelerator.prepare(held_loader)

    every = method.samples_every(config.settings, train_params.eval_steps) if spec.samples_file and dirs.run else 0
    extras = [ExtraOutput("anchors", dirs.anchors)] if dirs.anchors is not None else []
    if every:
        extras.append(ExtraOutput("samples", dirs.run / spec.samples_file, is_file=True))
    anchor_at = {step: k for k, step in enumerate(anchor_steps(total_steps, spec.anchors or 0), start=1)}
    return _Loop(method, accelerator, ctx, train_loader, selection_loader, held_loader, total_steps, anchor_at, every,
                 extras, Checkpoints(dirs.checkpoints, config.fingerprint, accelerator))


def _accelerator(config: LoopConfig):
    """The run's Accelerator, and the global seed set. A seedable sampler orders every epoch by
    (seed, epoch) alone, on every process alike; each batch is split across the processes."""
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration, set_seed

    from pipeline.launch import uses_cpu

    train_params = config.train_params
    accelerator = Accelerator(
        cpu=uses_cpu(),
        mixed_precision=train_params.mixed_precision,
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=config.seed,
                                                  split_batches=True),
    )
    set_seed(config.seed)
    for key in ("batch_size", "eval_batch_size"):
        if getattr(train_params, key) % accelerator.num_processes:
            raise InputError(f"train.{key}: {getattr(train_params, key)} rows do not split evenly across the "
                             f"launch's {accelerator.num_processes} processes; use a multiple of "
                             f"{accelerator.num_processes}")
    return accelerator


def _samples_path(loop: _Loop) -> Path | None:
    return next((extra.path for extra in loop.extras if extra.name == "samples"), None)


def _resume(loop: _Loop, config: LoopConfig, dirs: RunDirs, summary: RunSummary) -> None:
    """Pick up where an unfinished run of the same inputs left its checkpoint, if one did:
    its record, its data positions, its logs; start afresh otherwise."""
    from dvclive import Live

    accelerator = loop.accelerator
    resumed = loop.checkpoints.find()
    if resumed is not None:
        loop.checkpoints.restore(dirs.model, dirs.live, loop.extras)
        summary = resumed.summary
        log.info("%s %s: resuming from the checkpoint of step %d", config.task.name, summary.method, resumed.step)
    samples_path = _samples_path(loop)
    loop.sample_log = SampleLog(samples_path) if samples_path and accelerator.is_main_process else None
    summary.steps = loop.total_steps
    summary.launch = launch_record(accelerator)
    loop.summary = summary
    loop.last_checkpoint = resumed.step if resumed else 0
    loop.first_step = loop.last_checkpoint + 1
    loop.batches = BatchStream(loop.train_loader, accelerator, resumed.train_position if resumed else (0, 0))
    if loop.held_loader is not None:
        loop.held_batches = BatchStream(loop.held_loader, accelerator, resumed.held_position if resumed else (0, 0))
    loop.live = Live(str(dirs.live), save_dvc_exp=False, dvcyaml=False, resume=resumed is not None) \
        if accelerator.is_main_process else _NoLive()


def _progress_bar(loop: _Loop, config: LoopConfig):
    from tqdm.auto import tqdm

    # Under DVC the output is a log, not a terminal: redraw the bar every few seconds, not per step.
    return tqdm(total=loop.total_steps, initial=loop.first_step - 1,
                desc=f"{config.task.name} {loop.summary.method}", mininterval=0.1 if sys.stderr.isatty() else 10.0,
                disable=not (config.progress_bar and loop.accelerator.is_local_main_process))


def _take_step(loop: _Loop, step: int, bar) -> None:
    """The method's step `step` on the next batch (and held-out batch); its losses logged."""
    ctx = loop.ctx
    ctx.samples = [] if due(step, loop.samples_every, loop.total_steps) else None
    losses = loop.method.step(ctx, next(loop.batches), next(loop.held_batches) if loop.held_batches else None)
    _check_finite(losses, step, loop.checkpoints, loop.last_checkpoint)
    if ctx.samples and loop.sample_log:
        loop.sample_log.append(step, ctx.samples)
    # Set, not `live.next_step()`: that re-reads every logged file at every step to post to
    # DVC Studio (even when Studio is off), quadratic in the steps. end() writes once.
    loop.live.step = step  # as the console counts: the first step is 1, evaluations at eval_steps
    for name, value in losses.items():
        loop.live.log_metric(f"train/{name}", value)
    loop.live.log_metric("train/student_lr", ctx.student_scheduler.get_last_lr()[0])
    bar.set_postfix({k: f"{v:.4f}" for k, v in losses.items()}, refresh=False)
    bar.update()


def _check_finite(losses: dict[str, float], step: int, checkpoints: Checkpoints, last_checkpoint: int) -> None:
    for name, value in losses.items():
        if not math.isfinite(value):
            kept = f"the checkpoint of step {last_checkpoint} is kept in {checkpoints.latest}" if last_checkpoint \
                else "no checkpoint was written yet"
            raise TrainingDiverged(f"{name} is {value} at step {step}; {kept}; lower the learning rate or check the data")


def _evaluate_and_keep(loop: _Loop, config: LoopConfig, step: int, tokenizer, model_dir: Path, bar) -> None:
    """Score the student on the selection split and keep it if it is the best so far; score
    the teacher too when the method trains it."""
    metric, summary = config.task.selection_metric, loop.summary
    scores = _scores(loop, config.task, loop.ctx.student, "student")
    summary.last = scores
    if summary.best is None or scores[metric] > summary.best[metric]:
        summary.best, summary.best_step = scores, step
        if loop.accelerator.is_main_process:
            save_model(loop.ctx.student, tokenizer, model_dir, loop.accelerator)
    if loop.method.info.trains_teacher:
        scores = _scores(loop, config.task, loop.ctx.teacher, "teacher")
        if summary.teacher_best is None or scores[metric] > summary.teacher_best[metric]:
            summary.teacher_best, summary.teacher_best_step = scores, step
    bar.write(f"step {step}/{loop.total_steps}: student {metric} {summary.last[metric]:.4f} "
              f"(best {summary.best[metric]:.4f})")


def _scores(loop: _Loop, task: Task, model, role: str) -> Scores:
    """`model`'s scores on the selection split, logged under eval/ROLE/."""
    scores = evaluate(model, loop.selection_loader, task, loop.accelerator)
    for name, value in scores.items():
        loop.live.log_metric(f"eval/{role}/{name}", value)
    return scores


def _checkpoint(loop: _Loop, config: LoopConfig, step: int, dirs: RunDirs) -> None:
    if loop.sample_log:
        loop.sample_log.write()
    held_position = loop.held_batches.position if loop.held_batches else None
    progress = Progress(step, loop.batches.position, held_position, loop.summary, config.fingerprint)
    loop.checkpoints.save(progress, dirs.model, dirs.live, loop.extras)
    loop.last_checkpoint = step


def _finish(loop: _Loop, config: LoopConfig, data: RunData, model_dir: Path, started: float) -> TrainResult:
    """The logs written; the kept student's outputs."""
    loop.live.end()
    if loop.sample_log:
        loop.sample_log.write()
    outputs = kept_student_outputs(loop.ctx.student, model_dir, data.output_sets, data.tokenizer,
                                   config.train_params.eval_batch_size, loop.accelerator)
    # Wall time goes to the log, not the summary: outputs must depend on params and data only,
    # so that a rerun that reproduces them leaves DVC's hashes, and the stages after, alone.
    seconds, steps = time.perf_counter() - started, loop.total_steps - (loop.first_step - 1)
    log.info("%s %s: %d steps in %.1f s (%.2f s/step)", config.task.name, loop.summary.method, steps, seconds,
             seconds / max(1, steps))
    return TrainResult(loop.summary, outputs)
