"""The one training loop; methods differ only in their step (pipeline/distill/).

Phases, in order: accelerator and seed; loaders; optimizers and schedules; prepare; resume
from a checkpoint if there is one for these inputs; the loop (step, log, evaluate every
`eval_steps` and at the end, keep the best student, checkpoint every `checkpoint_steps`);
the kept student's outputs. The same code runs on CPU, one GPU, or many (`accelerate
launch`), with mixed precision as set in params.

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

import numpy as np
import torch

from pipeline.atomic import atomic_path
from pipeline.batches import BatchStream, loader
from pipeline.checkpoints import Checkpoints, Progress
from pipeline.distill.base import DistillSettings, Method, StepContext
from pipeline.errors import TrainingDiverged
from pipeline.metrics import compute_metrics, predictions_from_logits
from pipeline.outputs import predict_logits
from pipeline.tasks import Task

log = logging.getLogger("train")


@dataclass(frozen=True)
class OptimizerSettings:
    learning_rate: float
    weight_decay: float
    betas: tuple[float, float]
    eps: float
    warmup_ratio: float


@dataclass(frozen=True)
class LoopSettings:
    batch_size: int
    eval_batch_size: int
    epochs: float
    eval_steps: int
    checkpoint_steps: int  # 0: never
    seed: int
    mixed_precision: str


@dataclass(frozen=True)
class RunData:
    train: object  # datasets.Dataset
    selection: object  # picks the best student
    held_out: object  # LGTM's held-out batches
    outputs: dict  # {split key: dataset} the kept student is applied to at the end


@dataclass(frozen=True)
class RunDirs:
    model: Path  # the best student goes here
    live: Path  # DVCLive's logs
    checkpoints: Path  # checkpoints/TASK/RUN


def make_optimizer(model, settings: OptimizerSettings, total_steps: int):
    """torch.optim.AdamW with the authors' hyper-parameters and a linear schedule.

    The authors used transformers' AdamW (removed in transformers 5), which adds eps before
    bias correction; torch's adds it after. LGTM's virtual step uses this same optimizer.
    Fused: one kernel per step instead of a dozen passes over every tensor (the teacher's
    step goes from 76 ms to 11 ms on 2 CPU cores for a 6-layer/384 BERT).
    """
    from transformers import get_linear_schedule_with_warmup

    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings.learning_rate, betas=settings.betas,
        eps=settings.eps, weight_decay=settings.weight_decay, fused=True,
    )
    warmup = math.ceil(settings.warmup_ratio * total_steps)
    return optimizer, get_linear_schedule_with_warmup(optimizer, warmup, total_steps)


def evaluate(model, data_loader, task: Task, accelerator) -> dict[str, float]:
    logits, labels = predict_logits(model, data_loader, accelerator)
    return compute_metrics(task, predictions_from_logits(task, logits), labels)


def save_model(model, tokenizer, directory: Path, accelerator) -> None:
    with atomic_path(directory) as tmp:
        accelerator.unwrap_model(model).save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)


def best_model_outputs(model, model_dir: Path, output_sets: dict, tokenizer, batch_size: int, accelerator) -> dict:
    """The kept (best) checkpoint's logits on `output_sets`, for the evaluate stage."""
    from safetensors.torch import load_file

    from pipeline.outputs import SplitOutput

    accelerator.wait_for_everyone()  # the main process saved it
    model = accelerator.unwrap_model(model)
    model.load_state_dict(load_file(model_dir / "model.safetensors", device=str(accelerator.device)))
    outputs = {}
    for key, dataset in output_sets.items():
        logits, labels = predict_logits(model, accelerator.prepare(loader(dataset, tokenizer, batch_size, shuffle=False)),
                                        accelerator)
        outputs[key] = SplitOutput(logits, labels, np.asarray(dataset["idx"]))
    return outputs


# The summary's keys for the best score and step of each model.
_BEST_KEYS = {"student": ("best", "best_step"), "teacher": ("teacher_best", "teacher_best_step")}


def _evaluate_and_record(model, who: str, data_loader, task: Task, accelerator, live, summary: dict, step: int) -> bool:
    """Score `model` ("student" or "teacher") on the selection split, log it, and record it
    in `summary` if it is the best so far; True when it is."""
    scores = evaluate(model, data_loader, task, accelerator)
    for name, value in scores.items():
        live.log_metric(f"eval/{who}/{name}", value)
    if who == "student":
        summary["last"] = scores
    best_key, step_key = _BEST_KEYS[who]
    best = summary[best_key]
    if best is not None and scores[task.selection_metric] <= best[task.selection_metric]:
        return False
    summary.update({best_key: scores, step_key: step})
    return True


def _check_finite(losses: dict[str, float], step: int, checkpoints: Checkpoints, last_checkpoint: int) -> None:
    for name, value in losses.items():
        if not math.isfinite(value):
            kept = f"the checkpoint of step {last_checkpoint} is kept in {checkpoints.latest}" if last_checkpoint \
                else "no checkpoint was written yet"
            raise TrainingDiverged(f"{name} is {value} at step {step}; {kept}; lower the learning rate or check the data")


def train(
    method: Method,
    *,
    task: Task,
    student,
    teacher,
    tokenizer,
    data: RunData,
    student_optimizer_settings: OptimizerSettings,
    teacher_optimizer_settings: OptimizerSettings | None,
    loop: LoopSettings,
    distill: DistillSettings,
    dirs: RunDirs,
    fingerprint: str,
    progress_bar: bool = True,
) -> dict:
    """Train with `method`; the best student (by the task's selection metric) goes to
    `dirs.model`, the logs to `dirs.live`.

    Returns the summary: best step and metrics of the student, best teacher metric (for
    methods that train it), steps; and under "outputs" the best student's logits on each of
    `data.outputs` (pipeline/outputs.py).
    """
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration, set_seed
    from dvclive import Live
    from tqdm.auto import tqdm

    # Accelerator and seed. A seedable sampler orders every epoch by (seed, epoch) alone, on
    # every process alike.
    accelerator = Accelerator(
        mixed_precision=loop.mixed_precision,
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=loop.seed),
    )
    set_seed(loop.seed)

    # Loaders.
    train_loader = loader(data.train, tokenizer, loop.batch_size, shuffle=True)
    selection_loader = loader(data.selection, tokenizer, loop.eval_batch_size, shuffle=False)
    held_loader = loader(data.held_out, tokenizer, loop.batch_size, shuffle=True) if method.uses_held_out else None
    # Steps are counted on the unprepared loader: `prepare` shards it across processes, and
    # each process takes that many steps over its shard.
    total_steps = math.ceil(math.ceil(len(train_loader) / accelerator.num_processes) * loop.epochs)

    # Optimizers and schedules.
    student_optimizer, student_scheduler = make_optimizer(student, student_optimizer_settings, total_steps)
    teacher_optimizer = teacher_scheduler = None
    if method.trains_teacher:
        teacher_optimizer, teacher_scheduler = make_optimizer(teacher, teacher_optimizer_settings, total_steps)

    # Prepare: device placement, process sharding, mixed precision. Schedulers are registered
    # for checkpoints, not prepared: a prepared one steps once per process.
    student, student_optimizer, train_loader, selection_loader = accelerator.prepare(
        student, student_optimizer, train_loader, selection_loader
    )
    accelerator.register_for_checkpointing(student_scheduler)
    if method.trains_teacher:
        teacher, teacher_optimizer = accelerator.prepare(teacher, teacher_optimizer)
        accelerator.register_for_checkpointing(teacher_scheduler)
    elif method.uses_teacher:
        # Frozen: no gradients, so no DistributedDataParallel; and not prepared, so that
        # checkpoints leave out weights that every run reloads from the teacher's own run
        # (a BERT-base per checkpoint). distill_student runs it under the mixed-precision autocast.
        teacher = teacher.requires_grad_(False).to(accelerator.device)
    if held_loader is not None:
        held_loader = accelerator.prepare(held_loader)

    # Resume, if an unfinished run of the same inputs left a checkpoint.
    metric = task.selection_metric
    checkpoints = Checkpoints(dirs.checkpoints, fingerprint, accelerator)
    resumed = checkpoints.find()
    if resumed is not None:
        checkpoints.restore(dirs.model, dirs.live)
        log.info("%s %s: resuming from the checkpoint of step %d", task.name, method.name, resumed.step)
    start = resumed.step if resumed else 0
    summary = resumed.summary if resumed else {
        "method": method.name, "selection_metric": metric, "best_step": None, "best": None,
        "teacher_best": None, "teacher_best_step": None, "steps": total_steps}
    batches = BatchStream(train_loader, accelerator, resumed.train_position if resumed else (0, 0))
    held_batches = None
    if held_loader is not None:
        held_batches = BatchStream(held_loader, accelerator, resumed.held_position if resumed else (0, 0))
    live = Live(str(dirs.live), save_dvc_exp=False, dvcyaml=False, resume=resumed is not None)

    # The loop.
    ctx = StepContext(student, student_optimizer, student_scheduler, teacher, teacher_optimizer,
                      teacher_scheduler, accelerator, distill)
    last_checkpoint = start
    started = time.perf_counter()
    # Under DVC the output is a log, not a terminal: redraw the bar every few seconds, not per step.
    bar = tqdm(total=total_steps, initial=start, desc=f"{task.name} {method.name}",
               mininterval=0.1 if sys.stderr.isatty() else 10.0, disable=not (progress_bar and accelerator.is_local_main_process))
    with bar:  # closed before an error is reported, so that the error is the last line
        for step in range(start + 1, total_steps + 1):
            losses = method.step(ctx, next(batches), next(held_batches) if held_batches else None)
            _check_finite(losses, step, checkpoints, last_checkpoint)
            # Set, not `live.next_step()`: that re-reads every logged file at every step to post
            # to DVC Studio (even when Studio is off), quadratic in the steps. end() writes once.
            live.step = step - 1  # DVCLive's steps count from 0
            for name, value in losses.items():
                live.log_metric(f"train/{name}", value)
            live.log_metric("train/student_lr", student_scheduler.get_last_lr()[0])
            bar.set_postfix({k: f"{v:.4f}" for k, v in losses.items()}, refresh=False)
            bar.update()
            if step % loop.eval_steps == 0 or step == total_steps:
                if _evaluate_and_record(student, "student", selection_loader, task, accelerator, live, summary, step) \
                        and accelerator.is_main_process:
                    save_model(student, tokenizer, dirs.model, accelerator)
                if method.trains_teacher:
                    _evaluate_and_record(teacher, "teacher", selection_loader, task, accelerator, live, summary, step)
                bar.write(f"step {step}/{total_steps}: student {metric} {summary['last'][metric]:.4f} "
                          f"(best {summary['best'][metric]:.4f})")
            if loop.checkpoint_steps and step % loop.checkpoint_steps == 0 and step < total_steps:
                position = held_batches.position if held_batches else None
                checkpoints.save(Progress(step, batches.position, position, summary, fingerprint), dirs.model, dirs.live)
                last_checkpoint = step
    live.end()
    summary["outputs"] = best_model_outputs(student, dirs.model, data.outputs, tokenizer, loop.eval_batch_size, accelerator)
    # Wall time goes to the log, not the summary: outputs must depend on params and data only,
    # so that a rerun that reproduces them leaves DVC's hashes, and the stages after, alone.
    seconds = time.perf_counter() - started
    log.info("%s %s: %d steps in %.1f s (%.2f s/step)", task.name, method.name, total_steps - start, seconds,
             seconds / max(1, total_steps - start))
    return summary
