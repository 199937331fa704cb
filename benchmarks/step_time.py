"""Step-time and peak-memory benchmark of the training methods (`python -m stages bench`).

Every method runs its real step function (pipeline/distill/) on randomly initialised BERTs
of a given shape, with the models and optimizers set up by the training loop's own `setup`
and the `paper` preset's settings. `lgtm-authors` is the authors' algorithm as their code
computes it (reference/lgtm_authors.py: deep copies, two extra teacher passes), for
comparison. Step times are medians over interleaved repeats after warm-up, in one process;
peak memory is measured per method in its own process (benchmarks/peak_memory.py: peak RSS
on CPU, `torch.cuda.max_memory_allocated` on a GPU), since a process's peak cannot be reset.
Peak RSS includes what every process holds: Python, torch and transformers (about 0.5 GB
here), and the models.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

import torch

from pipeline.methods.base import Method
from pipeline.methods.registry import METHODS as REGISTRY
from pipeline.methods.registry import STEPS
from pipeline.settings.params import load_preset
from pipeline.training.loop import setup
from reference.lgtm_authors import KdWeights, lgtm_iteration

# Every method of the registry, in the table's order (finetune aside: the student alone), then:
# lgtm as the paper preset sets it (lgtm.mode: faithful); lgtm-fast: lgtm.mode: fast;
# lgtm-influence: lgtm logging every sample's influence (a step the loop logs, lgtm.influence_every);
# lgtm-authors: the authors' computation as their code does it (reference/lgtm_authors.py).
# TAKD's step is timed from its assistant (here a teacher-shaped model) and RCO's from one
# anchor: their extra stages are whole KD runs.
METHODS = (*(name for name in REGISTRY if name not in ("finetune", "lgtm")), "lgtm", "lgtm-fast", "lgtm-influence",
           "lgtm-authors")


@dataclass(frozen=True)
class Shape:
    teacher_layers: int = 6
    student_layers: int = 2
    hidden: int = 384
    heads: int = 6
    intermediate: int = 1536
    vocab: int = 30522
    batch_size: int = 16
    seq_len: int = 64
    labels: int = 3


def random_bert(shape: Shape, layers: int, seed: int):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=shape.vocab, hidden_size=shape.hidden, num_hidden_layers=layers,
                        num_attention_heads=shape.heads, intermediate_size=shape.intermediate, num_labels=shape.labels)
    return BertForSequenceClassification(config)


def random_batch(shape: Shape, seed: int, device) -> dict:
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, shape.vocab, (shape.batch_size, shape.seq_len), generator=generator)
    return {
        "input_ids": ids.to(device),
        "attention_mask": torch.ones_like(ids).to(device),
        "token_type_ids": torch.zeros_like(ids).to(device),
        "labels": torch.randint(0, shape.labels, (shape.batch_size,), generator=generator).to(device),
    }


class AuthorsLgtm(Method):
    """The authors' LGTM iteration, as their code computes it (reference/lgtm_authors.py)."""

    info = REGISTRY["lgtm"]

    def step(self, ctx, batch, held_batch):
        s = ctx.settings
        lgtm_iteration(ctx.teacher, ctx.student, teacher_optimizer=ctx.teacher_optimizer,
                       teacher_schedule=ctx.teacher_scheduler, student_optimizer=ctx.student_optimizer,
                       student_schedule=ctx.student_scheduler, batch=dict(batch), held_batch=dict(held_batch),
                       weights=KdWeights(s.alpha_kd, s.t_alpha_kd, s.temperature))
        return {}


def step_function(name: str, shape: Shape, precision: str, device: str):
    """A callable running one training step of `name` on fresh models, with the paper's settings."""
    from accelerate import Accelerator

    params = load_preset("paper")
    method = name.removesuffix("-fast").removesuffix("-authors").removesuffix("-influence")
    step = AuthorsLgtm() if name == "lgtm-authors" else STEPS[method]()
    settings = params.method_settings(method)
    if name == "lgtm-fast":
        settings = settings.model_copy(update={"mode": "fast"})
    accelerator = Accelerator(mixed_precision=precision, cpu=device == "cpu")
    student, teacher = random_bert(shape, shape.student_layers, 1), random_bert(shape, shape.teacher_layers, 2)
    if step.info.teacher == "anchors":
        from pipeline.distill.anchors import AnchorRoute

        teacher = AnchorRoute([teacher])
    ctx = setup(step, student, teacher, train=params.train, settings=settings,
                student_learning_rate=params.train.learning_rate, total_steps=10**6, accelerator=accelerator)
    batch, held = random_batch(shape, 0, accelerator.device), random_batch(shape, 1, accelerator.device)
    logs_samples = name == "lgtm-influence"
    if logs_samples:  # the rows name their examples (the authors' code takes no idx)
        batch = {**batch, "idx": torch.arange(shape.batch_size, device=accelerator.device)}

    def one_step():
        ctx.samples = [] if logs_samples else None
        step.step(ctx, batch, held if step.info.uses_held_out else None)
        if accelerator.device.type == "cuda":
            torch.cuda.synchronize()

    return one_step


def time_steps(methods, shape: Shape, *, precision: str, device: str, warmup: int, repeats: int) -> dict[str, float]:
    """Median seconds per step of each method, interleaved so that drift hits all alike."""
    steps = {name: step_function(name, shape, precision, device) for name in methods}
    for step in steps.values():
        for _ in range(warmup):
            step()
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeats):
        for name, step in steps.items():
            started = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in times.items()}


def peak_memory_mb(name: str, shape: Shape, *, precision: str, device: str, steps: int) -> float:
    """Peak memory of `steps` steps of one method, alone in this process."""
    from pathlib import Path

    step = step_function(name, shape, precision, device)
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(steps):
        step()
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    # VmHWM, the process's peak resident set: unlike getrusage's ru_maxrss it starts afresh
    # at exec, where ru_maxrss would carry over the (larger) parent's peak.
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024


def peak_memory_in_subprocess(name: str, shape: Shape, *, precision: str, device: str, threads: int,
                              steps: int) -> float:
    """`peak_memory_mb` in a process of its own (benchmarks/peak_memory.py)."""
    command = [sys.executable, "-m", "benchmarks.peak_memory", name, json.dumps(asdict(shape)), "--precision", precision,
               "--device", device, "--threads", str(threads), "--steps", str(steps)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def cpu_kernels() -> str:
    """`portable` under the stages' pinned generic kernels (stages/environment.py), else `native`."""
    return "portable" if os.environ.get("ATEN_CPU_CAPABILITY") == "default" else "native"


def run(shape: Shape, *, methods=METHODS, precision="no", device="cpu", threads=2, warmup=3, repeats=10,
        memory=True, influence_every: int = 25) -> dict:
    """The benchmark's JSON record: step times, ratios to KD, examples per second, peak memory;
    with lgtm and lgtm-influence, the cost of logging the influence on a logged step and
    amortized over `influence_every` steps."""
    torch.set_num_threads(threads)
    seconds = time_steps(methods, shape, precision=precision, device=device, warmup=warmup, repeats=repeats)
    record: dict = {"device": device, "precision": precision, "threads": threads, "shape": asdict(shape),
                    "repeats": repeats, "cpu_kernels": cpu_kernels()}
    for name, value in seconds.items():
        key = name.replace("-", "_")
        record[f"{key}_step_s"] = round(value, 4)
        record[f"{key}_examples_per_s"] = round(shape.batch_size / value, 1)
        if name != "kd" and "kd" in seconds:
            record[f"{key}_over_kd"] = round(value / seconds["kd"], 2)
    if "lgtm" in seconds and "lgtm-authors" in seconds:  # the same update: a fair ratio
        record["lgtm_over_authors"] = round(seconds["lgtm"] / seconds["lgtm-authors"], 2)
    if "lgtm" in seconds and "lgtm-influence" in seconds:  # the same step, logging its rows or not
        overhead = seconds["lgtm-influence"] / seconds["lgtm"] - 1.0
        record["influence_logging_overhead"] = round(overhead, 4)
        record["influence_every"] = influence_every
        record["influence_logging_overhead_amortized"] = round(overhead / influence_every, 4)
    if "lgtm" in seconds and "metadistil" in seconds:  # the paper's claim: cheaper than meta-distillation
        record["lgtm_over_metadistil"] = round(seconds["lgtm"] / seconds["metadistil"], 2)
    if memory:
        for name in methods:
            record[f"{name.replace('-', '_')}_peak_mb"] = round(peak_memory_in_subprocess(
                name, shape, precision=precision, device=device, threads=threads, steps=warmup + 2), 1)
    return record
