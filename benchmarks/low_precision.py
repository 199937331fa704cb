"""How far LGTM's teacher gradient moves under bf16 (`python -m benchmarks.low_precision`).

LGTM's default influence is a finite difference: the distillation loss of two students
perturbed by ±R along the held-out gradient, differenced and divided by 2R. In bf16 the two
losses carry about three significant digits, so the difference may be mostly rounding. This
computes the teacher gradient g = g_t − η·h (steps 1 to 5 of the step, `teacher_gradient`) for
one batch in float64 (the reference), in float32, and in float32 weights under bf16 autocast
(what `train.mixed_precision: bf16` runs), for each mode and influence, and prints one JSON line:
per variant, ‖x − x64‖ / ‖x64‖ and the cosine between x and x64 for three x: the gradient g at
the paper's η; what of η·h reaches the update, g(η) − g(0); and the direction h itself,
g(0) − g(1). Each is differenced within one precision, so the plain teacher gradient cancels.

Dropout is 0, so that train and eval modes agree and the precisions see the same network.

    python -m benchmarks.low_precision --device cuda       # the paper's shape (BERT-base, 6 layers)
    python -m benchmarks.low_precision --teacher-layers 2 --student-layers 1 --hidden 64 --heads 2 \\
        --intermediate 128 --vocab 2000 --batch-size 8 --seq-len 16      # a CPU-sized check
"""

from __future__ import annotations

import argparse
import copy
import json
from dataclasses import asdict

import torch

from benchmarks.step_time import Shape, random_batch
from pipeline.distill.lgtm_gradient import teacher_gradient
from pipeline.optim import AdamWHF
from pipeline.settings.params import load_preset

OPTIMIZER = dict(lr=1e-4, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01)


def _model(shape: Shape, layers: int, seed: int):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=shape.vocab, hidden_size=shape.hidden, num_hidden_layers=layers,
                        num_attention_heads=shape.heads, intermediate_size=shape.intermediate,
                        num_labels=shape.labels, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    return BertForSequenceClassification(config).double()


def _student_optimizer(student, shape: Shape, device) -> AdamWHF:
    """The student's optimizer with three steps of history, so that the virtual step sees real
    moments (a fresh Adam's first step is the gradient's sign, whatever its size)."""
    optimizer = AdamWHF(student.parameters(), **OPTIMIZER)
    for seed in range(3):
        batch = random_batch(shape, 100 + seed, device)
        student(**{k: v for k, v in batch.items() if k != "labels"}, labels=batch["labels"]).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return optimizer


def _in(dtype, teacher64, student64, optimizer64):
    """Copies of the models and the optimizer in `dtype`."""
    teacher, student = copy.deepcopy(teacher64).to(dtype), copy.deepcopy(student64).to(dtype)
    optimizer = AdamWHF(student.parameters(), **OPTIMIZER)
    optimizer.load_state_dict(optimizer64.state_dict())  # the state takes the parameters' dtype
    return teacher, student, optimizer


def _flat(tensors: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat([x.double().flatten() for x in tensors])


def _norm(tensors: list[torch.Tensor]) -> float:
    return float(_flat(tensors).norm())


def _compare(g: list[torch.Tensor], reference: list[torch.Tensor]) -> dict:
    """‖g − ref‖ / ‖ref‖, and the cosine (None where g is zero: nothing of ref survived)."""
    flat, ref = _flat(g), _flat(reference)
    cosine = float(flat @ ref / (flat.norm() * ref.norm())) if flat.norm() > 0 else None
    return {"relative_error": float((flat - ref).norm() / ref.norm()), "cosine": cosine}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, default in asdict(Shape(teacher_layers=12, student_layers=6, hidden=768, heads=12, intermediate=3072,
                                      batch_size=32, seq_len=128)).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    shape = Shape(**{name: getattr(args, name) for name in asdict(Shape())})
    paper = load_preset("paper")
    lgtm = paper.lgtm
    # η: the teacher's rate at its peak, as the step takes it from the teacher's schedule.
    losses = dict(alpha_kd=lgtm.alpha_kd, t_alpha_kd=lgtm.t_alpha_kd, temperature=lgtm.temperature,
                  eta=paper.train.teacher_learning_rate, radius=lgtm.radius)

    teacher64, student64 = _model(shape, shape.teacher_layers, 0).to(device), _model(shape, shape.student_layers, 1).to(device)
    optimizer64 = _student_optimizer(student64, shape, device)
    batch, held = random_batch(shape, 1, device), random_batch(shape, 2, device)
    models = {"float64": (teacher64, student64, optimizer64)}
    models["float32"] = models["bf16"] = _in(torch.float32, teacher64, student64, optimizer64)

    result = {"device": str(device), "shape": asdict(shape), **losses}
    for mode, influence in (("faithful", "finite_difference"), ("fast", "finite_difference"), ("faithful", "jvp")):
        variant = f"{mode}_{influence}"
        at = {}  # (precision, η) -> g
        for precision in ("float64", "float32", "bf16"):
            teacher, student, optimizer = models[precision]
            for eta in (losses["eta"], 0.0, 1.0):
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                    at[precision, eta] = teacher_gradient(teacher, student, optimizer, batch, held, mode=mode,
                                                          influence=influence, **{**losses, "eta": eta})
        eta = losses["eta"]
        term = {p: [a - b for a, b in zip(at[p, eta], at[p, 0.0])] for p in ("float64", "float32", "bf16")}
        h = {p: [b - a for a, b in zip(at[p, 1.0], at[p, 0.0])] for p in ("float64", "float32", "bf16")}
        for precision in ("float32", "bf16"):
            result[f"{variant}_{precision}"] = {
                "gradient": _compare(at[precision, eta], at["float64", eta]),
                "influence_term_in_the_update": _compare(term[precision], term["float64"]),
                "influence_direction_h": _compare(h[precision], h["float64"]),
            }
        result[f"{variant}_influence_share"] = _norm(term["float64"]) / _norm(at["float64", eta])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
