"""The one training loop; methods differ only in their step (pipeline/distill/).

Phases, in order: accelerator and seed; loaders; optimizers and schedules; prepare; the loop
(step, log, evaluate every `eval_steps` and at the end, keep the best student); summary.
The same code runs on CPU, one GPU, or many (`accelerate launch`), with mixed precision as
set in params.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from pipeline.atomic import atomic_path
from pipeline.batches import loader
from pipeline.distill.base import DistillSettings, Method, StepContext, model_inputs
from pipeline.metrics import compute_metrics, predictions_from_logits
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
    seed: int
    mixed_precision: str


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


def epoch_batches(data_loader, first_epoch: int = 0) -> Iterator[dict]:
    """Batches forever, one pass per epoch, each epoch in its own seeded order.

    `set_epoch` makes the order of epoch e a function of (seed, e) alone, which is what lets
    the held-out iterator and the training loop be replayed exactly.
    """
    epoch = first_epoch
    while True:
        data_loader.set_epoch(epoch)
        yield from data_loader
        epoch += 1


@torch.no_grad()
def predict_logits(model, data_loader, accelerator) -> tuple[np.ndarray, np.ndarray]:
    """(logits, labels) of a whole split, gathered from every process in the loader's order."""
    was_training = model.training
    model.eval()
    all_logits, all_labels = [], []
    for batch in data_loader:
        logits = model(**model_inputs(batch)).logits
        logits, labels = accelerator.gather_for_metrics((logits, batch["labels"]))
        all_logits.append(logits.float().cpu().numpy())
        all_labels.append(labels.cpu().numpy())
    model.train(was_training)
    return np.concatenate(all_logits), np.concatenate(all_labels)


def evaluate(model, data_loader, task: Task, accelerator) -> dict[str, float]:
    logits, labels = predict_logits(model, data_loader, accelerator)
    return compute_metrics(task, predictions_from_logits(task, logits), labels)


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


def save_model(model, tokenizer, directory: Path, accelerator) -> None:
    with atomic_path(directory) as tmp:
        accelerator.unwrap_model(model).save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)


def train(
    method: Method,
    *,
    task: Task,
    student,
    teacher,
    tokenizer,
    train_set,
    selection_set,
    held_set,
    student_optimizer_settings: OptimizerSettings,
    teacher_optimizer_settings: OptimizerSettings | None,
    loop: LoopSettings,
    distill: DistillSettings,
    output_sets: dict,
    model_dir: Path,
    live,
    progress: bool = True,
) -> dict:
    """Train with `method`; the best student (by the task's selection metric) goes to `model_dir`.

    Returns the summary: best step and metrics of the student, best teacher metric (for
    methods that train it), steps; and under "outputs" the best student's logits on each of
    `output_sets` (pipeline/outputs.py).
    """
    from accelerate import Accelerator
    from accelerate.utils import DataLoaderConfiguration, set_seed
    from tqdm.auto import tqdm

    # Accelerator and seed. A seedable sampler orders every epoch by (seed, epoch) alone, on
    # every process alike, so that runs replay exactly.
    accelerator = Accelerator(
        mixed_precision=loop.mixed_precision,
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=loop.seed),
    )
    set_seed(loop.seed)

    # Loaders.
    train_loader = loader(train_set, tokenizer, loop.batch_size, shuffle=True)
    selection_loader = loader(selection_set, tokenizer, loop.eval_batch_size, shuffle=False)
    held_loader = loader(held_set, tokenizer, loop.batch_size, shuffle=True) if method.uses_held_out else None
    # Steps are counted on the unprepared loader: `prepare` shards it across processes, and
    # each process takes that many steps over its shard.
    total_steps = math.ceil(math.ceil(len(train_loader) / accelerator.num_processes) * loop.epochs)

    # Optimizers and schedules.
    student_optimizer, student_scheduler = make_optimizer(student, student_optimizer_settings, total_steps)
    teacher_optimizer = teacher_scheduler = None
    if method.trains_teacher:
        teacher_optimizer, teacher_scheduler = make_optimizer(teacher, teacher_optimizer_settings, total_steps)

    # Prepare: device placement, process sharding, mixed precision.
    student, student_optimizer, train_loader, selection_loader = accelerator.prepare(
        student, student_optimizer, train_loader, selection_loader
    )
    if method.trains_teacher:
        teacher, teacher_optimizer = accelerator.prepare(teacher, teacher_optimizer)
    elif method.uses_teacher:
        teacher = accelerator.prepare(teacher)
        teacher.requires_grad_(False)
    if held_loader is not None:
        held_loader = accelerator.prepare(held_loader)

    # The loop.
    ctx = StepContext(student, student_optimizer, student_scheduler, teacher, teacher_optimizer,
                      teacher_scheduler, accelerator, distill)
    metric = task.selection_metric
    summary = {"method": method.name, "selection_metric": metric, "best_step": None, "best": None,
               "teacher_best": None, "teacher_best_step": None, "steps": total_steps}
    batches = epoch_batches(train_loader)
    held_batches = epoch_batches(held_loader) if held_loader is not None else None
    started = time.perf_counter()
    # Under DVC the output is a log, not a terminal: redraw the bar every few seconds, not per step.
    bar = tqdm(total=total_steps, desc=f"{task.name} {method.name}", mininterval=0.1 if sys.stderr.isatty() else 10.0,
               disable=not (progress and accelerator.is_local_main_process))
    for step in range(1, total_steps + 1):
        losses = method.step(ctx, next(batches), next(held_batches) if held_batches else None)
        for name, value in losses.items():
            live.log_metric(f"train/{name}", value)
        live.log_metric("train/student_lr", student_scheduler.get_last_lr()[0])
        bar.set_postfix({k: f"{v:.4f}" for k, v in losses.items()}, refresh=False)
        bar.update()
        if step % loop.eval_steps == 0 or step == total_steps:
            scores = evaluate(student, selection_loader, task, accelerator)
            for name, value in scores.items():
                live.log_metric(f"eval/student/{name}", value)
            if summary["best"] is None or scores[metric] > summary["best"][metric]:
                summary.update(best=scores, best_step=step)
                if accelerator.is_main_process:
                    save_model(student, tokenizer, model_dir, accelerator)
            if method.trains_teacher:
                teacher_scores = evaluate(teacher, selection_loader, task, accelerator)
                for name, value in teacher_scores.items():
                    live.log_metric(f"eval/teacher/{name}", value)
                if summary["teacher_best"] is None or teacher_scores[metric] > summary["teacher_best"][metric]:
                    summary.update(teacher_best=teacher_scores, teacher_best_step=step)
            bar.write(f"step {step}/{total_steps}: student {metric} {scores[metric]:.4f} (best {summary['best'][metric]:.4f})")
        live.next_step()
    bar.close()
    summary["outputs"] = best_model_outputs(student, model_dir, output_sets, tokenizer, loop.eval_batch_size, accelerator)
    # Wall time goes to the log, not the summary: outputs must depend on params and data only,
    # so that a rerun that reproduces them leaves DVC's hashes, and the stages after, alone.
    seconds = time.perf_counter() - started
    log.info("%s %s: %d steps in %.1f s (%.1f steps/s)", task.name, method.name, total_steps, seconds, total_steps / seconds)
    return summary
