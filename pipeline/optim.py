"""The optimizers and schedules of every training run, and the one way a step is applied.

`train.optimizer` chooses the AdamW:
- `adamw_hf`: the update of transformers 4.x's `AdamW`, which the authors used (it was
  removed in transformers 5): eps is added to √v *before* bias correction, and weight decay is
  applied after the update, to the updated weights. `AdamWHF` below; no maintained library has
  these semantics any more.
- `adamw_torch`: `torch.optim.AdamW` (fused): eps after bias correction, decay first. With
  weight decay 0 the only difference is eps's scale: at step 1, eps 1e-6 in `adamw_hf` acts
  like 3.2e-5 in `adamw_torch`. On CPU its square roots come from MKL, whose last bit differs
  between processors: its runs are not the same bytes on every machine.
LGTM's virtual step (pipeline/distill/virtual_step.py) applies the same optimizer's update.
The schedule is linear with warm-up, as the authors': `warmup_ratio x total steps` warm-up
steps, not rounded.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from pipeline.settings.params import TrainParams


def _sqrt(tensors: list[torch.Tensor]) -> list[torch.Tensor]:
    """√ of each tensor, correctly rounded. On CPU torch computes float32 square roots with MKL's
    vector library, whose last bit differs between AMD and Intel processors (docs/reproducibility.md);
    numpy's is the processor's own instruction, exact everywhere. GPUs round √ exactly already."""
    if all(t.device.type == "cpu" and t.dtype in (torch.float32, torch.float64) for t in tensors):
        return [torch.from_numpy(np.sqrt(t.numpy())) for t in tensors]
    return torch._foreach_sqrt(tensors)


def adamw_hf_update(params: list[torch.Tensor], grads: list[torch.Tensor], exp_avgs: list[torch.Tensor],
                    exp_avg_sqs: list[torch.Tensor], step: int, *, lr: float, beta1: float, beta2: float, eps: float,
                    weight_decay: float, correct_bias: bool) -> None:
    """One transformers-4.x AdamW update of `params` in place, all at the same `step` (counted
    from 1), with the moments updated in place too. The operations, in order and in kind, of
    transformers' `AdamW.step`, over all tensors at once."""
    torch._foreach_mul_(exp_avgs, beta1)
    torch._foreach_add_(exp_avgs, grads, alpha=1.0 - beta1)
    torch._foreach_mul_(exp_avg_sqs, beta2)
    torch._foreach_addcmul_(exp_avg_sqs, grads, grads, value=1.0 - beta2)
    denominators = _sqrt(exp_avg_sqs)
    torch._foreach_add_(denominators, eps)
    step_size = lr * math.sqrt(1.0 - beta2**step) / (1.0 - beta1**step) if correct_bias else lr
    torch._foreach_addcdiv_(params, exp_avgs, denominators, value=-step_size)
    if weight_decay > 0.0:
        torch._foreach_add_(params, params, alpha=-lr * weight_decay)


class AdamWHF(torch.optim.Optimizer):
    """transformers 4.x's `AdamW`, for both the real step and LGTM's virtual one. Its groups
    and state are laid out as there (`correct_bias` in each group, bias-corrected as its
    default; per parameter `step`, an int, `exp_avg` and `exp_avg_sq`), so that code written
    for that optimizer, such as the authors' virtual step, reads this one alike."""

    def __init__(self, params, *, lr: float, betas: tuple[float, float], eps: float, weight_decay: float):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "correct_bias": True})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            for param in params:
                state = self.state[param]
                if not state:
                    state.update(step=0, exp_avg=torch.zeros_like(param), exp_avg_sq=torch.zeros_like(param))
                state["step"] += 1
            # One update per step count (all parameters share one unless some lacked a gradient).
            for step in sorted({self.state[p]["step"] for p in params}):
                same = [p for p in params if self.state[p]["step"] == step]
                adamw_hf_update(same, [p.grad for p in same], [self.state[p]["exp_avg"] for p in same],
                                [self.state[p]["exp_avg_sq"] for p in same], step, lr=group["lr"],
                                beta1=group["betas"][0], beta2=group["betas"][1], eps=group["eps"],
                                weight_decay=group["weight_decay"], correct_bias=group["correct_bias"])


def make_optimizer(model, train: TrainParams, *, learning_rate: float, total_steps: int):
    """(optimizer, scheduler) of `model` at `learning_rate` for a run of `total_steps` steps."""
    from transformers import get_linear_schedule_with_warmup

    settings = {"lr": learning_rate, "betas": (train.adam_beta1, train.adam_beta2), "eps": train.adam_epsilon,
                "weight_decay": train.weight_decay}
    if train.optimizer == "adamw_hf":
        optimizer = AdamWHF(model.parameters(), **settings)
    else:
        # Fused: one kernel per step instead of a dozen passes over every tensor (the teacher's
        # step goes from 76 ms to 11 ms on 2 CPU cores for a 6-layer/384 BERT).
        optimizer = torch.optim.AdamW(model.parameters(), **settings, fused=True)
    return optimizer, get_linear_schedule_with_warmup(optimizer, train.warmup_ratio * total_steps, total_steps)


def step_optimizer(optimizer, scheduler) -> None:
    """One step of `optimizer` with the gradients in `.grad`, then of its schedule."""
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)


def apply_gradients(params, grads, optimizer, scheduler) -> None:
    """One optimizer step with gradients computed elsewhere (`torch.autograd.grad`)."""
    for param, grad in zip(params, grads):
        param.grad = grad
    step_optimizer(optimizer, scheduler)


def minimize(loss: torch.Tensor, accelerator, optimizer, scheduler) -> None:
    """Back-propagate `loss` (through Accelerate: loss scaling, gradient sync) and step."""
    accelerator.backward(loss)
    step_optimizer(optimizer, scheduler)
