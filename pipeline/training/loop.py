"""The one training loop; methods differ only in their step (pipeline/distill/).

Phases, in order: accelerator and seed; loaders; optimizers and schedules, prepared (`setup`,
which the benchmark shares); resume from a checkpoint if there is one for these inputs; the
loop (step, log, evaluate every `eval_steps` and at the end, keep the best student, append the
per-sample rows of a method that exports them, checkpoint every `checkpoint_steps`); the kept
student's outputs. The same code runs on CPU, one GPU, or many (`accelerate launch`,
pipeline/launch.py), with mixed precision as set in params.

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
from pipeline.distill.base import Method, StepContext
from pipeline.errors import InputError, TrainingDiverged
from pipeline.glue.tasks import Task
from pipeline.optim import make_optimizer
from pipeline.reporting.metrics import compute_metrics, predictions_from_logits
from pipeline.reporting.outputs import SplitOutput
from pipeline.reporting.summary import RunSummary, Scores
from pipeline.settings.section import Section
from pipeline.training.batches import BatchStream, loader
from pipeline.training.checkpoints import Checkpoints, Progress
from pipeline.training.predict import predict_logits, split_outputs
from pipeline.training.sample_log import SampleLog, due

if TYPE_CHECKING:
    from pipeline.settings.params import TrainParams

log = logging.getLogger("train")


@dataclass(frozen=True)
class RunData:
    train: object  # datasets.Dataset
    selection: object  # picks the best student
    held_out: object  # the held-out batches of methods that use them
    outputs: dict  # {split key: dataset} the kept student is applied to at the end


@dataclass(frozen=True)
class RunDirs:
    model: Path  # the best student goes here
    live: Path  # DVCLive's logs
    checkpoints: Path  # checkpoints/TASK/RUN
    anchors: Path | None = None  # the trained model at `anchor_steps` (RCO's teacher route), if any
    run: Path | None = None  # the run directory, where a step's per-sample rows go (Method.samples_file)


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


def _evaluate_and_record(model, who: str, data_loader, task: Task, accelerator, live, summary: RunSummary,
                         step: int) -> bool:
    """Score `model` ("student" or "teacher") on the selection split, log it, and record it
    in `summary` if it is the best so far; True when it is."""
    scores = evaluate(model, data_loader, task, accelerator)
    for name, value in scores.items():
        live.log_metric(f"eval/{who}/{name}", value)
    metric = task.selection_metric
    if who == "student":
        summary.last = scores
        if summary.best is None or scores[metric] > summary.best[metric]:
            summary.best, summary.best_step = scores, step
            return True
    elif summary.teacher_best is None or scores[metric] > summary.teacher_best[metric]:
        summary.teacher_best, summary.teacher_best_step = scores, step
        return True
    return False


def _check_finite(losses: dict[str, float], step: int, checkpoints: Checkpoints, last_checkpoint: int) -> None:
    for name, value in losses.items():
        if not math.isfinite(value):
            kept = f"the checkpoint of step {last_checkpoint} is kept in {checkpoints.latest}" if last_checkpoint \
                else "no checkpoint was written yet"
            raise TrainingDiverged(f"{name} is {value} at step {step}; {kept}; lower the learning rate or check the data")


def anchor_steps(steps: int, anchors: int) -> list[int]:
    """RCO's equal-interval anchors: the steps that end each of `anchors` equal shares of
    training, the last the final step (its reference, KD_Lib's RCO, keeps the teacher at every
    `epoch_interval` epochs and at the end)."""
    return [math.ceil(k * steps / anchors) for k in range(1, anchors + 1)]


def total_steps(train_batches: int, epochs: float) -> int:
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


def train(
    step: Method,
    *,
    task: Task,
    student,
    teacher,
    tokenizer,
    data: RunData,
    train: TrainParams,
    settings: Section,
    student_learning_rate: float,
    seed: int,
    checkpoint_steps: int,
    dirs: RunDirs,
    fingerprint: str,
    summary: RunSummary,
    progress_bar: bool = True,
    anchors: int = 0,
) -> TrainResult:
    """Train with `step`; the best student (by the task's selection metric) goes to
    `dirs.model`, the logs to `dirs.live`; a checkpoint every `checkpoint_steps` steps (0:
    none). `summary` is the run's record, filled in as it goes (`steps` is set here). With
    `anchors`, the trained model is also saved at `anchor_steps` to `dirs.anchors`/anchor-K."""
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration, set_seed
    from dvclive import Live
    from tqdm.auto import tqdm

    from pipeline.launch import uses_cpu

    # Accelerator and seed. A seedable sampler orders every epoch by (seed, epoch) alone, on
    # every process alike; each batch is split across the processes.
    accelerator = Accelerator(
        cpu=uses_cpu(),
        mixed_precision=train.mixed_precision,
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=seed, split_batches=True),
    )
    set_seed(seed)
    for key in ("batch_size", "eval_batch_size"):
        if getattr(train, key) % accelerator.num_processes:
            raise InputError(f"train.{key}: {getattr(train, key)} rows do not split evenly across the launch's "
                             f"{accelerator.num_processes} processes; use a multiple of {accelerator.num_processes}")

    # Loaders; `prepare` splits each of their batches across the processes.
    train_loader = loader(data.train, tokenizer, train.batch_size, shuffle=True)
    selection_loader = loader(data.selection, tokenizer, train.eval_batch_size, shuffle=False)
    held_loader = held_out_loader(data.held_out, tokenizer, train) if step.info.uses_held_out else None
    steps = total_steps(len(train_loader), train.epochs)
    anchor_at = {step: k for k, step in enumerate(anchor_steps(steps, anchors), start=1)}

    # Models, optimizers and schedules; then the loaders.
    ctx = setup(step, student, teacher, train=train, settings=settings, student_learning_rate=student_learning_rate,
                total_steps=steps, accelerator=accelerator)
    train_loader, selection_loader = accelerator.prepare(train_loader, selection_loader)
    if held_loader is not None:
        held_loader = accelerator.prepare(held_loader)

    # Resume, if an unfinished run of the same inputs left a checkpoint.
    metric = task.selection_metric
    checkpoints = Checkpoints(dirs.checkpoints, fingerprint, accelerator)
    resumed = checkpoints.find()
    every = step.samples_every(settings, train.eval_steps) if step.samples_file and dirs.run else 0
    samples_path = dirs.run / step.samples_file if every else None
    if resumed is not None:
        checkpoints.restore(dirs.model, dirs.live, dirs.anchors, samples_path)
        summary = resumed.summary
        log.info("%s %s: resuming from the checkpoint of step %d", task.name, summary.method, resumed.step)
    sample_log = SampleLog(samples_path) if samples_path and accelerator.is_main_process else None
    summary.steps = steps
    summary.launch = launch_record(accelerator)
    start = resumed.step if resumed else 0
    batches = BatchStream(train_loader, accelerator, resumed.train_position if resumed else (0, 0))
    held_batches = None
    if held_loader is not None:
        held_batches = BatchStream(held_loader, accelerator, resumed.held_position if resumed else (0, 0))
    live = Live(str(dirs.live), save_dvc_exp=False, dvcyaml=False, resume=resumed is not None) \
        if accelerator.is_main_process else _NoLive()

    # The loop.
    last_checkpoint = start
    started = time.perf_counter()
    # Under DVC the output is a log, not a terminal: redraw the bar every few seconds, not per step.
    bar = tqdm(total=steps, initial=start, desc=f"{task.name} {summary.method}",
               mininterval=0.1 if sys.stderr.isatty() else 10.0,
               disable=not (progress_bar and accelerator.is_local_main_process))
    with bar:  # closed before an error is reported, so that the error is the last line
        for number in range(start + 1, steps + 1):
            ctx.samples = [] if due(number, every, steps) else None
            losses = step.step(ctx, next(batches), next(held_batches) if held_batches else None)
            _check_finite(losses, number, checkpoints, last_checkpoint)
            if ctx.samples and sample_log:
                sample_log.append(number, ctx.samples)
            # Set, not `live.next_step()`: that re-reads every logged file at every step to post
            # to DVC Studio (even when Studio is off), quadratic in the steps. end() writes once.
            live.step = number  # as the console counts: the first step is 1, evaluations at eval_steps
            for name, value in losses.items():
                live.log_metric(f"train/{name}", value)
            live.log_metric("train/student_lr", ctx.student_scheduler.get_last_lr()[0])
            bar.set_postfix({k: f"{v:.4f}" for k, v in losses.items()}, refresh=False)
            bar.update()
            if number % train.eval_steps == 0 or number == steps:
                if _evaluate_and_record(ctx.student, "student", selection_loader, task, accelerator, live, summary,
                                        number) and accelerator.is_main_process:
                    save_model(ctx.student, tokenizer, dirs.model, accelerator)
                if step.info.trains_teacher:
                    _evaluate_and_record(ctx.teacher, "teacher", selection_loader, task, accelerator, live, summary,
                                         number)
                bar.write(f"step {number}/{steps}: student {metric} {summary.last[metric]:.4f} "
                          f"(best {summary.best[metric]:.4f})")
            if number in anchor_at and accelerator.is_main_process:
                save_model(ctx.student, tokenizer, dirs.anchors / f"anchor-{anchor_at[number]}", accelerator)
            if checkpoint_steps and number % checkpoint_steps == 0 and number < steps:
                position = held_batches.position if held_batches else None
                if sample_log:
                    sample_log.write()
                checkpoints.save(Progress(number, batches.position, position, summary, fingerprint), dirs.model,
                                 dirs.live, dirs.anchors, samples_path)
                last_checkpoint = number
    live.end()
    if sample_log:
        sample_log.write()
    outputs = kept_student_outputs(ctx.student, dirs.model, data.outputs, tokenizer, train.eval_batch_size,
                                   accelerator)
    # Wall time goes to the log, not the summary: outputs must depend on params and data only,
    # so that a rerun that reproduces them leaves DVC's hashes, and the stages after, alone.
    seconds = time.perf_counter() - started
    log.info("%s %s: %d steps in %.1f s (%.2f s/step)", task.name, summary.method, steps - start, seconds,
             seconds / max(1, steps - start))
    return TrainResult(summary, outputs)
