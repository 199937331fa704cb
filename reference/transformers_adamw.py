"""The AdamW of transformers 4.x, written from its published update rule: the yardstick of
pipeline/optim.py's `AdamWHF`, and the optimizer the authors' LGTM ran with
(reference/lgtm_authors.py).

Adam with decoupled weight decay (Loshchilov & Hutter, "Decoupled Weight Decay
Regularization", ICLR 2019) keeps, per parameter θ with gradient g at step t = 1, 2, ...:

    m ← β1·m + (1 − β1)·g                  first moment
    v ← β2·v + (1 − β2)·g²                 second moment

transformers 4.x (the authors pin transformers==4.17.0: twinkle0331/LGTM at commit
e9b615fb0cef1fddb17d693076dc54e9b804d110, requirements.txt line 1; run_glue.py imports its
`AdamW` at line 36 and builds one per model at lines 622 and 625) takes the step in this
order, with choices of its own that torch's AdamW does not share (`AdamW.step` of transformers
v4.17.0, src/transformers/optimization.py lines 323-382, as released on PyPI):

    α_t = lr · √(1 − β2^t) / (1 − β1^t)      both bias corrections folded into the step size
    θ  ← θ − α_t · m / (√v + ε)              ε added to the *uncorrected* √v
    θ  ← θ − lr · wd · θ                     decay after the Adam update, of the updated θ

With `correct_bias` off, α_t = lr. The defaults (lr 1e-3, betas (0.9, 0.999), eps 1e-6,
weight decay 0, bias correction on) are those of v4.17.0's `AdamW.__init__` (same file, lines
295-303); the authors pass only the learning rate.
The state is laid out as there (`step`, an int; `exp_avg`; `exp_avg_sq`), so that an
optimizer state from `AdamWHF` can be read by the reference LGTM step and compared entry by
entry with this one's.

`adamw_4x_update` computes one update out of place (the authors' virtual student step needs
exactly that); `Transformers4AdamW` is the optimizer that writes it back in place.
"""

from __future__ import annotations

import math

import torch


def adamw_4x_update(value: torch.Tensor, grad: torch.Tensor, state: dict, *, lr: float, betas: tuple[float, float],
                    eps: float, weight_decay: float, correct_bias: bool = True) -> torch.Tensor:
    """θ after one transformers-4.x AdamW step, as a new tensor; `value` is not modified.

    `state` (empty before the first step) is advanced in place: its step count and both
    moments. Give it a copy to look one step ahead without taking the step.
    """
    if not state:
        state.update(step=0, exp_avg=torch.zeros_like(value), exp_avg_sq=torch.zeros_like(value))
    state["step"] += 1
    t = state["step"]
    beta1, beta2 = betas
    first, second = state["exp_avg"], state["exp_avg_sq"]
    first.mul_(beta1).add_(grad, alpha=1.0 - beta1)
    second.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)

    step_size = lr * math.sqrt(1.0 - beta2**t) / (1.0 - beta1**t) if correct_bias else lr
    # ε joins √v before any bias correction: it acts larger early on than torch's ε does.
    updated = torch.addcdiv(value, first, second.sqrt() + eps, value=-step_size)
    if weight_decay > 0.0:
        # Decoupled decay, of the weights the Adam step has just produced.
        updated = updated - (lr * weight_decay) * updated
    return updated


class Transformers4AdamW(torch.optim.Optimizer):
    """transformers 4.x's AdamW as a torch optimizer: `adamw_4x_update` applied in place to
    every parameter that has a gradient."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-6,
                 weight_decay: float = 0.0, correct_bias: bool = True):
        if lr < 0.0 or eps < 0.0 or not all(0.0 <= beta < 1.0 for beta in betas):
            raise ValueError(f"needs lr >= 0, eps >= 0 and betas in [0, 1): lr={lr}, eps={eps}, betas={betas}")
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                                  "correct_bias": correct_bias})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else torch.enable_grad()(closure)()
        for group in self.param_groups:
            hyper = {key: group[key] for key in ("lr", "betas", "eps", "weight_decay", "correct_bias")}
            for param in group["params"]:
                if param.grad is not None:
                    param.copy_(adamw_4x_update(param, param.grad, self.state[param], **hyper))
        return loss
