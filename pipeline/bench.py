"""Step-time and peak-memory benchmark of the distillation methods (`python -m stages bench`).

Every method runs its real step function (pipeline/distill/) on randomly initialised BERTs
of a given shape, prepared by Accelerate as in training. `lgtm-authors` is the authors'
algorithm (pipeline/distill/lgtm_reference.py) for comparison. Step times are medians over
interleaved repeats after warm-up, in one process; peak memory is measured per method in its
own process (peak RSS on CPU, `torch.cuda.max_memory_allocated` on a GPU), since a process's
peak cannot be reset. Peak RSS includes what every process holds: Python, torch and
transformers (about 0.5 GB here), and the models.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

METHODS = ("kd", "prokt", "lgtm", "lgtm-faithful", "lgtm-authors")


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


def _model(shape: Shape, layers: int, seed: int):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=shape.vocab, hidden_size=shape.hidden, num_hidden_layers=layers,
                        num_attention_heads=shape.heads, intermediate_size=shape.intermediate, num_labels=shape.labels)
    return BertForSequenceClassification(config)


def _batch(shape: Shape, seed: int, device) -> dict:
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(1000, shape.vocab, (shape.batch_size, shape.seq_len), generator=generator)
    return {
        "input_ids": ids.to(device),
        "attention_mask": torch.ones_like(ids).to(device),
        "token_type_ids": torch.zeros_like(ids).to(device),
        "labels": torch.randint(0, shape.labels, (shape.batch_size,), generator=generator).to(device),
    }


class _AuthorsLgtm:
    """The authors' LGTM step: their teacher gradient, a teacher step, the student's KD step."""

    uses_held_out = True

    def step(self, ctx, batch, held_batch):
        from pipeline.distill.base import distill_student
        from pipeline.distill.lgtm_reference import reference_teacher_gradient

        s = ctx.settings
        gradient = reference_teacher_gradient(ctx.teacher, ctx.student, ctx.student_optimizer, batch, held_batch,
                                              alpha_kd=s.alpha_kd, alpha_kd_t=s.t_alpha_kd, temperature=s.temperature,
                                              eta=ctx.teacher_scheduler.get_last_lr()[0], radius=s.radius)
        for p, g in zip(ctx.teacher.parameters(), gradient):
            p.grad = g
        ctx.teacher_optimizer.step()
        ctx.teacher_scheduler.step()
        ctx.teacher_optimizer.zero_grad(set_to_none=True)
        return {"student_loss": distill_student(ctx, batch)}


def _step_function(name: str, shape: Shape, precision: str, device: str):
    """A callable running one training step of `name` on fresh models (the paper's settings)."""
    from accelerate import Accelerator

    from pipeline.distill import METHODS as REGISTRY
    from pipeline.distill.base import DistillSettings, StepContext
    from pipeline.training import OptimizerSettings, make_optimizer

    method = _AuthorsLgtm() if name == "lgtm-authors" else REGISTRY[name.removesuffix("-faithful")]()
    mode = "faithful" if name.endswith("-faithful") else "fast"
    accelerator = Accelerator(mixed_precision=precision, cpu=device == "cpu")
    student, teacher = _model(shape, shape.student_layers, 1), _model(shape, shape.teacher_layers, 2)

    def optimizer(model):
        settings = OptimizerSettings(learning_rate=5e-5, weight_decay=0.0, betas=(0.9, 0.999), eps=1e-6, warmup_ratio=0.0)
        return make_optimizer(model, settings, total_steps=10**6)

    s_opt, s_sched = optimizer(student)
    trains_teacher = name != "kd"
    t_opt, t_sched = optimizer(teacher) if trains_teacher else (None, None)
    student, s_opt = accelerator.prepare(student, s_opt)
    if trains_teacher:
        teacher, t_opt = accelerator.prepare(teacher, t_opt)
    else:
        teacher = teacher.requires_grad_(False).to(accelerator.device)  # frozen, as in training
    settings = DistillSettings(alpha_kd=1.0, t_alpha_kd=0.4, temperature=1.0, radius=0.01, lgtm_mode=mode)
    ctx = StepContext(student, s_opt, s_sched, teacher, t_opt, t_sched, accelerator, settings)
    batch, held = _batch(shape, 0, accelerator.device), _batch(shape, 1, accelerator.device)

    def step():
        method.step(ctx, batch, held if getattr(method, "uses_held_out", False) else None)
        if accelerator.device.type == "cuda":
            torch.cuda.synchronize()

    return step


def time_steps(methods, shape: Shape, *, precision: str, device: str, warmup: int, repeats: int) -> dict[str, float]:
    """Median seconds per step of each method, interleaved so that drift hits all alike."""
    steps = {name: _step_function(name, shape, precision, device) for name in methods}
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
    step = _step_function(name, shape, precision, device)
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


def peak_memory_in_subprocess(name: str, shape: Shape, *, precision: str, device: str, threads: int, steps: int) -> float:
    code = (
        "import json, torch; from pipeline.bench import Shape, peak_memory_mb; "
        f"torch.set_num_threads({threads}); "
        f"print(peak_memory_mb({name!r}, Shape(**{asdict(shape)!r}), precision={precision!r}, device={device!r}, steps={steps}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def run(shape: Shape, *, methods=METHODS, precision="no", device="cpu", threads=2, warmup=3, repeats=10,
        memory=True) -> dict:
    """The benchmark's JSON record: step times, ratios to KD, examples per second, peak memory."""
    torch.set_num_threads(threads)
    seconds = time_steps(methods, shape, precision=precision, device=device, warmup=warmup, repeats=repeats)
    record: dict = {"device": device, "precision": precision, "threads": threads, "shape": asdict(shape),
                    "repeats": repeats}
    for name, value in seconds.items():
        key = name.replace("-", "_")
        record[f"{key}_step_s"] = round(value, 4)
        record[f"{key}_examples_per_s"] = round(shape.batch_size / value, 1)
        if name != "kd" and "kd" in seconds:
            record[f"{key}_over_kd"] = round(value / seconds["kd"], 2)
    if memory:
        for name in methods:
            record[f"{name.replace('-', '_')}_peak_mb"] = round(peak_memory_in_subprocess(
                name, shape, precision=precision, device=device, threads=threads, steps=warmup + 2), 1)
    return record


def dumps(record: dict) -> str:
    return json.dumps(record)
