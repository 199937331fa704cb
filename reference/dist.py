"""DIST's loss and its training combination, transcribed from its authors' code: the
`classification` submodule of hunto/DIST_KD, hunto/image_classification_sota at commit
d9662f7df68fe46b973c4580b7c9b896cedcd301. The yardstick of pipeline/distill/dist.py, never the
method.

- `cosine_similarity` .. `DIST`: lib/models/losses/dist_kd.py, lines 1-34, whole.
- `KDLoss`: lib/models/losses/kd_loss.py, lines 10-57 (`kd_method` 'dist' and 'dist_t<τ>'
  only): the teacher in eval mode and under no_grad, `ori_loss * ori_loss_weight + kd_loss *
  kd_loss_weight`, `ori_loss` being `nn.CrossEntropyLoss()` (tools/train.py line 61, smoothing
  0). Its forward hooks on the whole models (`student_module = teacher_module = ''`) store each
  model's output; here the two models are callables returning logits and the stores are
  written where the hooks would fire, and `teacher.eval()` (line 44) is the caller's. The step
  is then `loss.backward()` and the optimizer's
  `step()` (tools/train.py).
"""

from __future__ import annotations

import torch
import torch.nn as nn


def cosine_similarity(a, b, eps=1e-8):
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1) + eps)


def pearson_correlation(a, b, eps=1e-8):
    return cosine_similarity(a - a.mean(1).unsqueeze(1),
                             b - b.mean(1).unsqueeze(1), eps)


def inter_class_relation(y_s, y_t):
    return 1 - pearson_correlation(y_s, y_t).mean()


def intra_class_relation(y_s, y_t):
    return inter_class_relation(y_s.transpose(0, 1), y_t.transpose(0, 1))


class DIST(nn.Module):
    def __init__(self, beta=1.0, gamma=1.0, tau=1.0):
        super(DIST, self).__init__()
        self.beta = beta
        self.gamma = gamma
        self.tau = tau

    def forward(self, z_s, z_t):
        y_s = (z_s / self.tau).softmax(dim=1)
        y_t = (z_t / self.tau).softmax(dim=1)
        inter_loss = self.tau**2 * inter_class_relation(y_s, y_t)
        intra_loss = self.tau**2 * intra_class_relation(y_s, y_t)
        kd_loss = self.beta * inter_loss + self.gamma * intra_loss
        return kd_loss


class KDLoss():
    '''
    kd loss wrapper.
    '''

    def __init__(self, student, teacher, ori_loss, kd_method='dist', ori_loss_weight=1.0, kd_loss_weight=1.0):
        self.student = student
        self.teacher = teacher
        self.ori_loss = ori_loss
        self.ori_loss_weight = ori_loss_weight
        self.kd_method = kd_method
        self.kd_loss_weight = kd_loss_weight

        self._teacher_out = None
        self._student_out = None

        # init kd loss
        if kd_method == 'dist':
            self.kd_loss = DIST(beta=1, gamma=1, tau=1)
        elif kd_method.startswith('dist_t'):
            tau = float(kd_method[6:])
            self.kd_loss = DIST(beta=1, gamma=1, tau=tau)
        else:
            raise RuntimeError(f'KD method {kd_method} not found.')

    def __call__(self, x, targets):
        with torch.no_grad():
            self._teacher_out = self.teacher(x)

        # compute ori loss of student
        logits = self.student(x)
        self._student_out = logits
        ori_loss = self.ori_loss(logits, targets)

        # compute kd loss
        kd_loss = self.kd_loss(self._student_out, self._teacher_out)
        del self._student_out, self._teacher_out
        return ori_loss * self.ori_loss_weight + kd_loss * self.kd_loss_weight
