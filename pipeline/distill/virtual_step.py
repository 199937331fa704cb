"""The student's next parameters under one step of its own optimizer, without taking the step.

LGTM evaluates the student one optimizer step ahead (docs/method.md, step 2). The authors
deep-copy the student and its optimizer state and apply the update by hand. Here the
optimizer's own update (pipeline/optim.py's `adamw_hf_update` for `AdamWHF`; for
`torch.optim.AdamW`, `torch.optim.adamw.adamw` with the group's hyper-parameters and its
fused/foreach choice) is applied to clones of the parameters, moments and step counts: the
optimizer and the model are only read, no module is copied, and the result is bit for bit
what `optimizer.step()` would write.
"""

from __future__ import annotations

import torch
from torch.optim.adamw import adamw

from pipeline.errors import InputError
from pipeline.optim import AdamWHF, adamw_hf_update


def _members(params, grads, optimizer, index: int):
    """(position, parameter, gradient) of the parameters in `optimizer`'s group `index`."""
    group_of = {id(p): i for i, g in enumerate(optimizer.param_groups) for p in g["params"]}
    return [(i, p, g) for i, (p, g) in enumerate(zip(params, grads)) if group_of[id(p)] == index]


@torch.no_grad()
def virtual_step(
    params: list[torch.Tensor], grads: list[torch.Tensor], optimizer, rows: dict[int, torch.Tensor] | None = None
) -> list[torch.Tensor]:
    """New tensors: each parameter after one step of `optimizer` with `grads`.

    `params` are the optimizer's own parameters (its state is looked up by them); nothing is
    modified. `rows` maps a parameter's position to the rows of it to step (its grad then has
    only those rows): AdamW is elementwise, so each row comes out as in the full step.
    """
    rows = rows or {}
    optimizer = getattr(optimizer, "optimizer", optimizer)  # Accelerate wraps optimizers
    if not isinstance(optimizer, (AdamWHF, torch.optim.AdamW)):
        raise InputError(f"LGTM's virtual step needs AdamW (adamw_hf or adamw_torch), got {type(optimizer).__name__}")

    def view(position: int, tensor: torch.Tensor) -> torch.Tensor:
        return tensor[rows[position]] if position in rows else tensor.clone()

    stepped: dict[int, torch.Tensor] = {}
    for index, group in enumerate(optimizer.param_groups):
        members = _members(params, grads, optimizer, index)
        if not members:
            continue
        values, moments, squares, steps = [], [], [], []
        for position, param, _ in members:
            state = optimizer.state.get(param)
            values.append(view(position, param.detach()))
            # Before the first step the optimizer starts from zero moments and step 0.
            moments.append(view(position, state["exp_avg"]) if state else torch.zeros_like(values[-1]))
            squares.append(view(position, state["exp_avg_sq"]) if state else torch.zeros_like(values[-1]))
            steps.append(state["step"] if state else 0)
        member_grads = [g for _, _, g in members]
        beta1, beta2 = group["betas"]
        if isinstance(optimizer, AdamWHF):
            for step in sorted(set(steps)):  # one update per step count, as AdamWHF.step
                same = [i for i, s in enumerate(steps) if s == step]
                adamw_hf_update([values[i] for i in same], [member_grads[i] for i in same], [moments[i] for i in same],
                                [squares[i] for i in same], step + 1, lr=group["lr"], beta1=beta1, beta2=beta2,
                                eps=group["eps"], weight_decay=group["weight_decay"],
                                correct_bias=group["correct_bias"])
        else:
            if group["amsgrad"] or group["maximize"]:
                raise InputError("LGTM's virtual step supports AdamW without amsgrad and maximize")
            counts = [s.clone() if torch.is_tensor(s) else torch.zeros((), dtype=torch.float32, device=v.device)
                      for s, v in zip(steps, values)]
            adamw(values, member_grads, moments, squares, [], counts, foreach=group["foreach"], fused=group["fused"],
                  capturable=group["capturable"], amsgrad=False, beta1=beta1, beta2=beta2, lr=group["lr"],
                  weight_decay=group["weight_decay"], eps=group["eps"], maximize=False)
        stepped.update((i, value) for (i, _, _), value in zip(members, values))
    return [stepped[i] for i in range(len(params))]
