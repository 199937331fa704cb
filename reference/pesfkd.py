"""A slow, float64 yardstick for PESF-KD's training step on GLUE, written for this project from
the paper and from what the authors' code is observed to do. It is what tests/test_pesfkd.py
measures pipeline/methods/pesfkd.py against; no stage runs it.

The method (Rao et al., "Parameter-Efficient and Student-Friendly Knowledge Distillation",
IEEE TMM 2023, arXiv:2205.15308, the method section): the fine-tuned teacher's output gets a
small adapter, and the adapted teacher learns together with the student so that its soft labels
become easier for the student to match. With h the teacher's pooled [CLS] vector after dropout,
z_T and z_S the two models' logits, p = softmax(z / τ) and y the labels:

    z_T  = W_c h + b_c + A(h),    A(h) = W_l h + b_l + drop(W_u relu(W_d h + b_d) + b_u)
    L    = α · L_soft + (1 − α) · L_task + β · L_patient
    L_soft    = τ² · mean over examples and classes of (p_T − p_S)²
    L_task    = CE(z_S, y) + CE(z_T, y)                (MSE on y for a one-output task)
    L_patient = mean over pairs, examples, hidden units of (ŝ_j − t̂_{k·j})²

L_patient is the [CLS] term of patient KD (Sun et al., EMNLP 2019, eq. 3, PKD-skip): ŝ_j is the
L2-normalised [CLS] state of student layer j = 1 .. L_s − 1, t̂_{k·j} the teacher's at layer k·j,
k = L_t // L_s. The code's soft term is an MSE between probabilities, not the paper's KL;
this file follows the code.

What the authors' code does (1170300319/PESF-KD, commit d3f6aa81897d17d9e33b5a412ca0618f626c798d,
nlp/), each reproduced here:
- The adapter (utils_glue.py l.37-50) sums a direct linear map to the labels and a bottleneck
  (linear, ReLU, linear, dropout 0.1). The model adds it to the classifier's logits, both reading
  the same dropped-out pooled vector (model.py l.70-77). Its width is hard-coded to 768 with a
  bottleneck of 64 (model.py l.43, l.54). It exists only with `--use_adapter`
  (run_glue_distillation.py l.546, l.627), a flag the README's example command leaves out.
- The task loss is cross-entropy, or MSE when there is one output (model.py l.81-88). The teacher
  is called with the labels under autograd (`teacher_grad=True`, run_glue_distillation.py
  l.183-192; distillation_meta.py l.18-22), so its loss joins the student's
  (distillation_meta.py l.35-42). The teacher runs before the student.
- The soft term is τ² times the MSE between the temperature softmaxes (distillation_meta.py
  l.47-51; `--logits_mse` is off by default, l.559). Nothing is detached, so it trains the
  teacher as well. With β = 0 the patient term is a zero (l.53-54).
- The patient term (distillation_meta.py l.56-69) uses the hidden states without the embeddings
  and without the last layer, keeps position 0, picks the teacher's rows by the 'skip' order of
  run_glue_distillation.py l.672-678, L2-normalises each vector and takes the mean squared gap.
- Defaults: α 0.5, β 100, τ 5 (run_glue_distillation.py l.494-499), gradient clip 1.0 (l.535).
- Modes: the student is put in train mode (l.175); the teacher never is (`t_model.eval()` at
  l.176 is commented out), so it keeps the eval mode `from_pretrained` gives it (l.627): no
  dropout in the teacher or its adapter.
- One update (l.194-218, one GPU, no accumulation): the combined loss is back-propagated once;
  only the student's gradient is clipped to the max norm; then the student's optimizer, its
  scheduler and its zero_grad, then the same three for the teacher.
- Teacher optimizer (l.80-92): every named parameter, in a decayed group and a no-decay group
  (names containing 'bias' or 'LayerNorm.weight'), both at the teacher's learning rate. The loop
  after it means to freeze the encoder but assigns `required_grad`, an attribute autograd never
  reads; that assignment is reproduced so the tests can show that the whole teacher still trains.

Deliberate departures, none in the arithmetic: the encoder, classifier and dropout rate of an
existing BERT are wrapped instead of loading a checkpoint, so the step sets the teacher's eval
mode itself; the adapter's width is the teacher's hidden size and its bottleneck the caller's;
only the 'skip' layer order and the probability-MSE soft term are provided; no DataParallel
wrapper, so the freeze loop reads `teacher.bert`; optimizers and schedulers are the caller's.
The adapter keeps the authors' submodule names (`l1.0`, `adapter.0`, `adapter.2`), so that
state dicts can be compared key by key, but its forward spells the arithmetic out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

ADAPTER_DROPOUT = 0.1
NO_DECAY_NAME_PARTS = ("bias", "LayerNorm.weight")
CLIP_EPSILON = 1e-6  # torch.nn.utils.clip_grad_norm_'s guard in the divisor


@dataclass(frozen=True)
class PesfWeights:
    """The loss weights and the student's clip, at the authors' defaults."""

    alpha: float = 0.5
    beta: float = 100.0
    temperature: float = 5.0
    max_grad_norm: float = 1.0


class LogitAdapter(nn.Module):
    """A(h): a direct linear map of the pooled vector to the labels plus a ReLU bottleneck."""

    def __init__(self, width: int, bottleneck: int, classes: int):
        super().__init__()
        # Containers only to give the parameters the authors' checkpoint keys.
        self.l1 = nn.Sequential(nn.Linear(width, classes))
        down, up = nn.Linear(width, bottleneck), nn.Linear(bottleneck, classes)
        self.adapter = nn.Sequential(down, nn.ReLU(), up, nn.Dropout(ADAPTER_DROPOUT))

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        direct, down, up = self.l1[0], self.adapter[0], self.adapter[2]
        linear_path = pooled @ direct.weight.T + direct.bias
        squeezed = torch.relu(pooled @ down.weight.T + down.bias)
        bottleneck_path = F.dropout(squeezed @ up.weight.T + up.bias, ADAPTER_DROPOUT, self.training)
        return linear_path + bottleneck_path


class Outputs(NamedTuple):
    logits: torch.Tensor
    hidden_states: tuple[torch.Tensor, ...]  # embeddings, then every layer's output


class PooledClassifier(nn.Module):
    """BERT's sequence classifier: dropout on the pooled [CLS] vector, a linear layer, and for the
    teacher the adapter's output added to the logits."""

    def __init__(self, bert: nn.Module, classifier: nn.Linear, dropout: float,
                 adapter: LogitAdapter | None = None):
        super().__init__()
        self.bert, self.classifier, self.adapter = bert, classifier, adapter
        self.dropout = dropout

    def forward(self, input_ids, attention_mask, token_type_ids) -> Outputs:
        encoded = self.bert(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                            output_hidden_states=True, return_dict=True)
        pooled = F.dropout(encoded.pooler_output, self.dropout, self.training)
        logits = self.classifier(pooled)
        if self.adapter is not None:
            logits = logits + self.adapter(pooled)
        return Outputs(logits, encoded.hidden_states)


def task_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy; mean squared error when the model has one output (regression)."""
    if logits.shape[-1] == 1:
        return (logits.reshape(-1) - labels.reshape(-1)).pow(2).mean()
    log_probabilities = logits - torch.logsumexp(logits, dim=-1, keepdim=True)
    return -log_probabilities.gather(-1, labels.reshape(-1, 1)).mean()


def soft_loss(teacher_logits: torch.Tensor, student_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """τ² times the mean squared gap between the softened distributions. With one output both
    softmaxes are 1, so the term is exactly 0 on regression tasks."""
    gap = torch.softmax(teacher_logits / temperature, dim=-1) - torch.softmax(student_logits / temperature, dim=-1)
    return temperature ** 2 * gap.pow(2).mean()


def skip_pairs(teacher_layers: int, student_layers: int) -> list[tuple[int, int]]:
    """(student layer, teacher layer), 1-based: student j ↔ teacher k·j for j < L_s, k = L_t // L_s.
    12 → 6 layers: (1, 2), (2, 4), (3, 6), (4, 8), (5, 10)."""
    stride = teacher_layers // student_layers
    if stride == 0:
        raise ValueError(f"PKD-skip needs a teacher at least as deep as the student ({teacher_layers} < {student_layers})")
    return [(j, stride * j) for j in range(1, student_layers)]


def unit_cls(hidden_states: tuple[torch.Tensor, ...], layers: list[int]) -> torch.Tensor:
    """(len(layers), batch, hidden): each listed layer's [CLS] vector scaled to unit length."""
    cls = torch.stack([hidden_states[layer][:, 0] for layer in layers])
    return cls / cls.norm(dim=-1, keepdim=True)


def patient_loss(teacher_hidden, student_hidden) -> torch.Tensor:
    pairs = skip_pairs(len(teacher_hidden) - 1, len(student_hidden) - 1)
    student = unit_cls(student_hidden, [s for s, _ in pairs])
    teacher = unit_cls(teacher_hidden, [t for _, t in pairs])
    return (student - teacher).pow(2).mean()


def pesf_losses(teacher: PooledClassifier, student: PooledClassifier, batch: dict,
                weights: PesfWeights) -> dict[str, torch.Tensor]:
    """Every term of L for one batch, in the models' current modes, all attached to the graph."""
    inputs = {key: batch[key] for key in ("input_ids", "attention_mask", "token_type_ids")}
    labels = batch["labels"]
    t, s = teacher(**inputs), student(**inputs)  # teacher first, as the authors call them
    task = task_loss(s.logits, labels) + task_loss(t.logits, labels)
    soft = soft_loss(t.logits, s.logits, weights.temperature)
    if weights.beta == 0:
        patient = torch.zeros_like(soft)
    else:
        patient = patient_loss(t.hidden_states, s.hidden_states)
    total = weights.alpha * soft + (1 - weights.alpha) * task + weights.beta * patient
    return {"loss": total, "task_loss": task, "soft_loss": soft, "pkd_loss": patient}


def clip_to_norm(parameters, max_norm: float) -> torch.Tensor:
    """Scale the gradients by min(1, max_norm / (‖g‖ + ε)), ‖g‖ over all of them together."""
    grads = [p.grad for p in parameters if p.grad is not None]
    norm = torch.sqrt(sum(g.pow(2).sum() for g in grads))
    scale = max_norm / (norm + CLIP_EPSILON)
    if scale < 1:
        for g in grads:
            g.mul_(scale)
    return norm


def training_step(teacher: PooledClassifier, student: PooledClassifier, batch: dict, weights: PesfWeights,
                  student_updater, teacher_updater) -> tuple[dict[str, float], float]:
    """One update of both models. Each updater is an (optimizer, scheduler) pair. Returns the
    losses and the student's gradient norm before clipping."""
    teacher.eval()  # as loaded; the authors never switch it to train mode
    student.train()
    losses = pesf_losses(teacher, student, batch, weights)
    losses["loss"].backward()
    norm = clip_to_norm(student.parameters(), weights.max_grad_norm)  # the teacher's is not clipped
    for optimizer, scheduler in (student_updater, teacher_updater):  # the student's first
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
    return {name: value.item() for name, value in losses.items()}, norm.item()


def teacher_parameter_groups(teacher: PooledClassifier, weight_decay: float, lr: float) -> list[dict]:
    """The teacher's optimizer groups: all its parameters, biases and LayerNorm weights undecayed."""
    decayed, undecayed = [], []
    for name, parameter in teacher.named_parameters():
        exempt = any(part in name for part in NO_DECAY_NAME_PARTS)
        (undecayed if exempt else decayed).append(parameter)
    for parameter in teacher.bert.parameters():
        # The authors' attempt to freeze the encoder, misspelt as they released it: it sets an
        # attribute nothing reads, so every parameter keeps requires_grad=True.
        setattr(parameter, "required_grad", False)
    return [{"params": decayed, "weight_decay": weight_decay, "lr": lr},
            {"params": undecayed, "weight_decay": 0.0, "lr": lr}]
