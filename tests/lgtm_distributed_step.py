"""One LGTM step with each process on its share of the batch; run under torchrun by
tests/test_distributed.py, and called in-process there for the single-process reference.

    torchrun --nproc_per_node 2 tests/lgtm_distributed_step.py OUT.pt
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from accelerate import Accelerator
from transformers import get_linear_schedule_with_warmup

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_lgtm_gradient import batch, tiny_bert  # noqa: E402

from pipeline.distill.context import StepContext  # noqa: E402
from pipeline.methods.lgtm import LgtmSettings  # noqa: E402
from pipeline.methods.registry import STEPS  # noqa: E402

BATCH, HELD = {**batch(1, size=8), "idx": torch.arange(100, 108)}, batch(2, size=4)


def share(full: dict, accelerator: Accelerator) -> dict:
    """This process's contiguous share of a batch."""
    size = len(full["labels"]) // accelerator.num_processes
    start = accelerator.process_index * size
    return {key: value[start:start + size] for key, value in full.items()}


def lgtm_step(accelerator: Accelerator, mode: str) -> dict[str, torch.Tensor]:
    """Teacher and student parameters after one LGTM step of float64, dropout-free BERTs, and
    the step's per-sample influence rows (the whole batch's, gathered), by column."""
    student, teacher = tiny_bert(1, 8, seed=2), tiny_bert(2, 16, seed=1)

    def optimizer(model):
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, eps=1e-6, weight_decay=0.0, fused=True)
        return opt, get_linear_schedule_with_warmup(opt, 0, 10)

    (s_opt, s_sched), (t_opt, t_sched) = optimizer(student), optimizer(teacher)
    student, s_opt, teacher, t_opt = accelerator.prepare(student, s_opt, teacher, t_opt)
    settings = LgtmSettings(alpha_kd=0.8, t_alpha_kd=0.4, temperature=1.5, init_classifier_to_zero=False, radius=0.01,
                            mode=mode, influence="finite_difference", influence_every=None)
    ctx = StepContext(student, s_opt, s_sched, teacher, t_opt, t_sched, accelerator, settings, samples=[])
    STEPS["lgtm"]().step(ctx, share(BATCH, accelerator), share(HELD, accelerator))
    (rows,) = ctx.samples
    return {
        **{f"rows.{k}": torch.tensor(v) for k, v in rows.items()},
        **{f"teacher.{k}": v.detach().clone() for k, v in accelerator.unwrap_model(teacher).named_parameters()},
        **{f"student.{k}": v.detach().clone() for k, v in accelerator.unwrap_model(student).named_parameters()},
    }


if __name__ == "__main__":
    accelerator = Accelerator(cpu=True)
    results = {mode: lgtm_step(accelerator, mode) for mode in ("fast", "faithful")}
    if accelerator.is_main_process:
        torch.save({"processes": accelerator.num_processes, **results}, sys.argv[1])
    accelerator.end_training()
