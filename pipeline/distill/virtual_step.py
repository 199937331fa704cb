"""The student's next parameters under one step of its own AdamW, without taking the step.

LGTM evaluates the student one optimizer step ahead (docs/method.md, step 2). The
authors deep-copy the student and its optimizer and step the copy. Here the optimizer's own
update (`torch.optim.adamw.adamw`, with the group's hyper-parameters and its fused/foreach
choice) is applied to clones of the parameters, moments and step counts: the optimizer and
the model are only read, no module is copied, and the result is bit for bit what
`optimizer.step()` would write.
"""

from __future__ import annotations

import torch
from torch.optim.adamw import adamw

from pipeline.errors import InputError


def _adamw(optimizer) -> torch.optim.AdamW:
    inner = getattr(optimizer, "optimizer", optimizer)  # Accelerate wraps optimizers
    if not isinstance(inner, torch.optim.AdamW):
        raise InputError(f"LGTM's virtual step needs torch.optim.AdamW for the student, got {type(inner).__name__}")
    return inner


@torch.no_grad()
def adamw_virtual_step(
    params: list[torch.Tensor], grads: list[torch.Tensor], optimizer, rows: dict[int, torch.Tensor] | None = None
) -> list[torch.Tensor]:
    """New tensors: each parameter after one step of `optimizer` with `grads`.

    `params` are the optimizer's own parameters (its state is looked up by them); nothing is
    modified. `rows` maps a parameter's position to the rows of it to step (its grad then has
    only those rows): AdamW is elementwise, so each row comes out as in the full step.
    """
    rows = rows or {}

    def view(position: int, tensor: torch.Tensor) -> torch.Tensor:
        return tensor[rows[position]] if position in rows else tensor.clone()

    optimizer = _adamw(optimizer)
    group_index = {id(p): i for i, group in enumerate(optimizer.param_groups) for p in group["params"]}
    stepped: dict[int, torch.Tensor] = {}
    for index, group in enumerate(optimizer.param_groups):
        members = [(i, p, g) for i, (p, g) in enumerate(zip(params, grads)) if group_index[id(p)] == index]
        if not members:
            continue
        if group["amsgrad"] or group["maximize"]:
            raise InputError("LGTM's virtual step supports AdamW without amsgrad and maximize")
        values, moments, squares, steps = [], [], [], []
        for position, param, _ in members:
            state = optimizer.state.get(param)
            values.append(view(position, param.detach()))
            if state:
                moments.append(view(position, state["exp_avg"]))
                squares.append(view(position, state["exp_avg_sq"]))
                steps.append(state["step"].clone())
            else:  # before the first step: the optimizer starts from zero moments and step 0
                moments.append(torch.zeros_like(values[-1]))
                squares.append(torch.zeros_like(values[-1]))
                steps.append(torch.zeros((), dtype=torch.float32, device=param.device))
        adamw(values, [g for _, _, g in members], moments, squares, [], steps,
              foreach=group["foreach"], fused=group["fused"], capturable=group["capturable"],
              amsgrad=False, beta1=group["betas"][0], beta2=group["betas"][1], lr=group["lr"],
              weight_decay=group["weight_decay"], eps=group["eps"], maximize=False)
        stepped.update((i, value) for (i, _, _), value in zip(members, values))
    return [stepped[i] for i in range(len(params))]
