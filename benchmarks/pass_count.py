"""What LGTM's faithful step costs beyond its passes (`python -m benchmarks.pass_count`).

Times, on the benchmark's shape (benchmarks/step_time.py), each kind of pass the methods are
made of: a teacher forward (with and without a graph), its backward, the student's, and an
optimizer step of each; then KD's and LGTM's whole steps. A faithful LGTM step is 3 teacher
forwards and 2 backwards, 5 student forwards (B, H, the two perturbed students, step 6) and 3
backwards, 2 optimizer steps; KD's is a teacher forward, a student forward and backward and
one optimizer step. What the whole step takes beyond the sum of its passes is the rest: the
virtual step, the embedding-row view, the logit-space influence, Python.

    python -m benchmarks.pass_count            # prints one JSON line
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import asdict

import torch

from benchmarks.step_time import Shape, random_batch, random_bert, step_function
from pipeline.distill.context import model_inputs
from pipeline.settings.params import load_preset


def _median_seconds(run, repeats: int) -> float:
    for _ in range(2):  # warm-up
        run()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def pass_times(shape: Shape, repeats: int) -> dict[str, float]:
    """Median seconds of each kind of pass, models in train mode (dropout on)."""
    from pipeline.optim import make_optimizer

    train = load_preset("paper").train
    batch = random_batch(shape, 0, "cpu")
    inputs = model_inputs(batch)
    times = {}
    for role, layers in (("teacher", shape.teacher_layers), ("student", shape.student_layers)):
        model = random_bert(shape, layers, 1).train()
        optimizer, _ = make_optimizer(model, train, learning_rate=train.learning_rate, total_steps=10**6)

        def forward_no_grad():
            with torch.no_grad():
                model(**inputs)

        def forward_backward():
            model(**inputs).logits.square().mean().backward()

        def optimizer_step():
            optimizer.step()

        times[f"{role}_forward_s"] = _median_seconds(forward_no_grad, repeats)
        times[f"{role}_forward_backward_s"] = _median_seconds(forward_backward, repeats)
        times[f"{role}_optimizer_step_s"] = _median_seconds(optimizer_step, repeats)
        model.zero_grad(set_to_none=True)
    return times


def run(shape: Shape, repeats: int) -> dict:
    passes = pass_times(shape, repeats)
    t_f, t_fb = passes["teacher_forward_s"], passes["teacher_forward_backward_s"]
    s_f, s_fb = passes["student_forward_s"], passes["student_forward_backward_s"]
    t_opt, s_opt = passes["teacher_optimizer_step_s"], passes["student_optimizer_step_s"]
    # Forwards that keep a graph cost about what no-grad ones do; a backward is fb - f.
    kd_passes = t_f + s_fb + s_opt
    lgtm_passes = 3 * t_f + 2 * (t_fb - t_f) + 5 * s_f + 3 * (s_fb - s_f) + t_opt + s_opt
    steps = {name: _median_seconds(step_function(name, shape, "no", "cpu"), repeats) for name in ("kd", "lgtm")}
    return {
        "shape": asdict(shape), **{k: round(v, 4) for k, v in passes.items()},
        "kd_step_s": round(steps["kd"], 4), "kd_passes_s": round(kd_passes, 4),
        "lgtm_step_s": round(steps["lgtm"], 4), "lgtm_passes_s": round(lgtm_passes, 4),
        "lgtm_rest_s": round(steps["lgtm"] - lgtm_passes, 4),
        "lgtm_over_kd": round(steps["lgtm"] / steps["kd"], 2),
        "lgtm_passes_over_kd_passes": round(lgtm_passes / kd_passes, 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(json.dumps(run(Shape(), args.repeats)))
