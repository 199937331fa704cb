"""PKD's loss, transcribed from its authors' code: intersun/PKD-for-BERT-Model-Compression at
commit 9e9e860997ad4815f6ac655d1beb26a85ddd70bb. The yardstick of pipeline/distill/pkd.py, never
the method.

- `distillation_loss`, `patience_loss`: src/KD_loss.py, lines 7-30.
- `training_loss`: the loss of one training step, NLI_KD_training.py lines 256-275 (the branch
  `kd_model == 'kd.cls'`, `beta > 0`), with the [CLS] states of src/modeling.py lines 120-123
  (`BertForSequenceClassificationEncoder.forward`: `full_output[i][:, 0]` of every encoder layer)
  and the teacher's states as src/nli_data_processing.py lines 670-672 stack them from its
  prediction file (the layers `fc_layer_idx` names, 0-based, `transpose(0, 1)`: examples first).
  The step then is `loss.backward()` and the optimizer's `step()` (lines 286-312).

Departures, none in the loss: `patience_loss` casts to float32 only when its inputs are below it
(theirs: `.float()` always) and does not round its value to float16 (theirs ends in `.half()`,
for its apex fp16 training), so that the float64 tests measure the formula, not the rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def _float(t):
    # `.float()` in the reference; kept above float32 for the float64 tests.
    return t.to(torch.promote_types(t.dtype, torch.float32))


def distillation_loss(y, labels, teacher_scores, T, alpha, reduction_kd='mean', reduction_nll='mean'):
    if teacher_scores is not None:
        d_loss = nn.KLDivLoss(reduction=reduction_kd)(F.log_softmax(y / T, dim=1),
                                                      F.softmax(teacher_scores / T, dim=1)) * T * T
    else:
        assert alpha == 0, 'alpha cannot be {} when teacher scores are not provided'.format(alpha)
        d_loss = 0.0
    nll_loss = F.cross_entropy(y, labels, reduction=reduction_nll)
    tol_loss = alpha * d_loss + (1.0 - alpha) * nll_loss
    return tol_loss, d_loss, nll_loss


def patience_loss(teacher_patience, student_patience, normalized_patience=False):
    if normalized_patience:
        teacher_patience = F.normalize(teacher_patience, p=2, dim=2)
        student_patience = F.normalize(student_patience, p=2, dim=2)
    return F.mse_loss(_float(teacher_patience), _float(student_patience))


def training_loss(student_encoded_layers, logits_pred_student, label_ids, teacher_pred, teacher_encoded_layers,
                  fc_layer_idx, T, alpha, beta, normalize_patience=True):
    """`student_encoded_layers`/`teacher_encoded_layers`: each encoder layer's output, in order
    (pytorch_pretrained_bert's `encoded_layers`: no embeddings); `fc_layer_idx`: the reference's
    comma-separated, 0-based teacher layers."""
    full_output = [student_encoded_layers[i][:, 0] for i in range(len(student_encoded_layers))]
    layer_index = [int(i) for i in fc_layer_idx.split(',')]
    feature_maps = [teacher_encoded_layers[i][:, 0] for i in range(len(teacher_encoded_layers))]
    teacher_patience = torch.stack([feature_maps[int(i)] for i in layer_index]).transpose(0, 1)

    student_patience = torch.stack(full_output[:-1]).transpose(0, 1)
    loss_dl, kd_loss, ce_loss = distillation_loss(logits_pred_student, label_ids, teacher_pred, T=T, alpha=alpha)
    if beta > 0:
        pt_loss = beta * patience_loss(teacher_patience, student_patience, normalize_patience)
        loss = loss_dl + pt_loss
    else:
        pt_loss = torch.tensor(0.0)
        loss = loss_dl
    return loss
