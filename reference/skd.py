"""SKD's loss (spherical knowledge distillation, Guo et al. 2020) as PaddleClas writes it:
PaddlePaddle/PaddleClas at commit 85a0c851ad9e06e3beb122f447f1b079575dea2b, ppcls/loss/skdloss.py,
class `SKDLoss` (lines 20-72), which cites forjiuzhou/Spherical-Knowledge-Distillation; its
defaults are those of ppcls/configs/ImageNet/Distillation/resnet34_distill_resnet18_skd.yaml
(temperature 1.0, multiplier 2.0, alpha 0.9). The yardstick of pipeline/distill/skd.py, never
the method. The step is a plain optimizer step on this loss, the teacher frozen.

Translated from Paddle to torch, call for call, names and order kept: `F.layer_norm(x,
x.shape[1:], weight=None, bias=None, epsilon=1e-7)` is torch's `F.layer_norm(..., eps=1e-7)`
(both divide by the square root of the biased variance plus eps); Paddle's `F.softmax` and
`F.log_softmax` default to the last axis, written out here (`dim=-1`); `paddle.sum(..., axis=1)`
and `paddle.mean` are `torch.sum(..., dim=1)` and `torch.mean`; `F.one_hot` gives int64 in torch
(float32 in Paddle), which the product with the float log-probabilities promotes.

The same loss is forjiuzhou/Spherical-Knowledge-Distillation's README "Minimal Codes" (layer-norm
both logits, eps 1e-7, times the multiplier; the cross-entropy on the normalised logits) and the
commented-out branch of its skd_main.py `train_kd` (lines 453-459). That file's active branch
(lines 460-465) is another variant: it rescales the student's logits to the teacher's standard
deviation (no centring, no multiplier) and divides the summed KL by the batch size twice.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SKDLoss(nn.Module):
    """
    Spherical Knowledge Distillation
    paper: https://arxiv.org/pdf/2010.07485.pdf
    code reference: https://github.com/forjiuzhou/Spherical-Knowledge-Distillation
    """

    def __init__(self,
                 temperature,
                 multiplier=2.0,
                 alpha=0.9,
                 use_target_as_gt=False):
        super().__init__()
        self.temperature = temperature
        self.multiplier = multiplier
        self.alpha = alpha
        self.use_target_as_gt = use_target_as_gt

    def forward(self, logits_student, logits_teacher, target=None):
        if target is None or self.use_target_as_gt:
            target = logits_teacher.argmax(dim=-1)

        target = F.one_hot(
            target.reshape([-1]), num_classes=logits_student[0].shape[0])

        logits_student = F.layer_norm(
            logits_student,
            logits_student.shape[1:],
            weight=None,
            bias=None,
            eps=1e-7) * self.multiplier
        logits_teacher = F.layer_norm(
            logits_teacher,
            logits_teacher.shape[1:],
            weight=None,
            bias=None,
            eps=1e-7) * self.multiplier

        kd_loss = -torch.sum(F.softmax(logits_teacher / self.temperature, dim=-1) *
                             F.log_softmax(logits_student / self.temperature, dim=-1),
                             dim=1)

        kd_loss = torch.mean(kd_loss) * self.temperature**2

        ce_loss = torch.mean(-torch.sum(
            target * F.log_softmax(logits_student, dim=-1), dim=1))

        return kd_loss * self.alpha + ce_loss * (1 - self.alpha)
