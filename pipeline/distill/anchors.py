"""RCO's teacher: the anchors saved along the teacher's fine-tuning (pipeline/methods/rco.py),
one after another over the student's steps."""

from __future__ import annotations

import torch


class AnchorRoute(torch.nn.ModuleList):
    """The teacher's anchors, in the order they were saved."""

    def anchor_at(self, steps_done: int, total_steps: int) -> torch.nn.Module:
        """The anchor the student learns from at its step `steps_done + 1` of `total_steps`."""
        return self[min(len(self) - 1, steps_done * len(self) // max(1, total_steps))]
