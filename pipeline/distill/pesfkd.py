"""PESF-KD (Parameter-Efficient and Student-Friendly KD, Rao et al. 2022): the fine-tuned
teacher gets an adapter on its pooled output and learns *with* the student, from one loss:

    L = α · τ² · MSE(softmax(T/τ), softmax(S/τ)) + (1 − α) · (CE(S, y) + CE(T, y)) + β · PKD

where T = classifier(pooled) + adapter(pooled) and nothing is detached: the soft term moves
the teacher toward the student too (the "student-friendly" part). One backward, then the
student's optimizer step (its gradient clipped to `max_grad_norm`) and the teacher's.
PKD is patient KD's [CLS] loss, which the reference adds with β = 100: the MSE between the
L2-normalised [CLS] hidden states of the student's layers 1..L_s−1 and the teacher's layers
k, 2k, ... (k = L_t // L_s; 2, 4, 6, 8, 10 for 12 → 6 layers), the last layers left out.

Follows 1170300319/PESF-KD (nlp/):
- `model.py` `BertForSequenceClassification` (l.43-91): logits = classifier(dropout(pooled))
  + adapter(dropout(pooled)); `utils_glue.py` `Adapter` (l.37-50): Linear(hidden, C) plus
  Linear(hidden, 64) → ReLU → Linear(64, C) → Dropout(0.1), initialised as BERT's layers
  (normal(0, initializer_range), zero bias: the model's `init_weights()` runs before the
  checkpoint, which has no adapter, is loaded). `AdaptedTeacher` below; its state_dict keys
  are the reference's (`adapter.adapter.0.weight`, `adapter.l1.0.weight`, ...).
- `distillation_meta.py` `MetaPatientDistillation.forward` (l.17-71) with `teacher_grad=True`:
  the loss above, PKD's layer order from `run_glue_distillation.py` l.668-678 ('skip').
- `run_glue_distillation.py` `train` (l.175-218): `s_model.train()`, the teacher never put in
  train mode (`#t_model.eval()` is commented out, and `from_pretrained` leaves a model in
  eval mode), so the teacher, adapter included, runs without dropout, here too; the loss as
  `real_loss`; `clip_grad_norm_` on the student only; student step, then teacher step.
  `reference/pesfkd.py` implements that behaviour independently, in float64;
  tests/test_pesfkd.py compares whole steps with it.

What trains. The reference means to freeze the teacher's encoder (l.91-92,
`for p in model.module.bert.parameters(): p.required_grad = False`), but `required_grad` is a
typo for `requires_grad`: it sets an unused attribute, and the released code trains the whole
teacher and the adapter. `freeze_teacher_encoder: false` (default) does what the released code
does; `true` does what the line intends (the teacher's classifier and the adapter train).

Departures:
- The adapter's input is the teacher's hidden size (the reference hard-codes 768) and its
  bottleneck is `adapter_size` (null: hidden / 12, which is the reference's 64 at 768).
- Learning rates and the optimizer are the run's (`train.*`); the reference's own defaults
  are a teacher learning rate of 1e-5, Adam eps 1e-8 and no decay for biases and LayerNorm.
- The losses in float32 at least, as everywhere in this project.

Regression (STS-B, one output): a softmax over one output is 1, so the reference's soft term
is identically 0 there and only the two MSEs on the labels remain. Here the soft term is the
MSE between the two outputs, with no τ² (no temperature acts on it), so that the teacher and
student still pull toward each other, as losses.py does for every method; the task losses are
the MSEs on the labels, as the reference's.

PKD needs a teacher at least as deep as the student and equal hidden sizes (the reference
fails otherwise too): with β > 0 anything else is refused; β = 0 skips the term. A one-layer
student (the demo's) has no intermediate layer to pair: the term is 0 there, where the
reference's reshape fails.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from pipeline.distill.base import Method, StepContext, model_inputs
from pipeline.distill.losses import soft_probability_mse, task_loss
from pipeline.distill.pkd import default_layer_map, patient_loss
from pipeline.errors import InputError
from pipeline.optim import step_optimizer
from pipeline.settings.methods import METHODS
from pipeline.settings.section import Section

ADAPTER_DROPOUT = 0.1  # utils_glue.py l.44
HIDDEN_PER_ADAPTER_UNIT = 12  # 768 / 64: the reference's bottleneck at BERT-base's width


class Adapter(nn.Module):
    """The reference's adapter, its module names kept: a linear map of the pooled output plus a
    bottleneck, both to the label space."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int):
        super().__init__()
        self.adapter = nn.Sequential(nn.Linear(input_size, hidden_size), nn.ReLU(),
                                     nn.Linear(hidden_size, output_size), nn.Dropout(ADAPTER_DROPOUT))
        self.l1 = nn.Sequential(nn.Linear(input_size, output_size))

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.l1(pooled) + self.adapter(pooled)


class AdaptedTeacher(nn.Module):
    """A BERT-style sequence classifier (pooler → dropout → linear classifier) with the adapter's
    output added to its logits. Only `model` and `adapter` are registered, so that the state
    dict holds each tensor once (Accelerate's checkpoints are safetensors)."""

    def __init__(self, model: nn.Module, adapter_size: int | None):
        super().__init__()
        bert_style = (isinstance(getattr(model, "classifier", None), nn.Linear)
                      and isinstance(getattr(model, "dropout", None), nn.Dropout)
                      and getattr(getattr(model, "base_model", None), "pooler", None) is not None)
        if not bert_style:
            raise InputError(f"model.teacher: PESF-KD's adapter needs a BERT-style classifier (pooler, dropout, linear "
                             f"classifier); got {type(model).__name__}")
        hidden, labels = model.config.hidden_size, model.config.num_labels
        if adapter_size is None:
            adapter_size = max(1, round(hidden / HIDDEN_PER_ADAPTER_UNIT))
        self.model = model
        reference = next(model.parameters())
        self.adapter = Adapter(hidden, adapter_size, labels).to(device=reference.device, dtype=reference.dtype)
        with torch.no_grad():
            for module in self.adapter.modules():
                if isinstance(module, nn.Linear):
                    module.weight.normal_(mean=0.0, std=model.config.initializer_range)
                    module.bias.zero_()

    @property
    def config(self):
        return self.model.config

    def forward(self, output_hidden_states: bool = False, **inputs) -> SequenceClassifierOutput:
        outputs = self.model.base_model(**inputs, output_hidden_states=output_hidden_states, return_dict=True)
        pooled = self.model.dropout(outputs.pooler_output)
        logits = self.model.classifier(pooled) + self.adapter(pooled)
        return SequenceClassifierOutput(logits=logits, hidden_states=outputs.hidden_states)



class Pesfkd(Method):
    info = METHODS["pesfkd"]

    def prepare_teacher(self, teacher: nn.Module, settings: Section) -> nn.Module:
        adapted = AdaptedTeacher(teacher, settings.adapter_size)
        if settings.freeze_teacher_encoder:
            teacher.base_model.requires_grad_(False)
        return adapted

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        s = ctx.settings
        inputs, labels = model_inputs(batch), batch["labels"]
        ctx.teacher.eval()  # the reference's teacher never leaves the eval mode it was loaded in
        ctx.student.train()
        hidden = s.beta > 0
        teacher_out = ctx.teacher(**inputs, output_hidden_states=hidden)
        student_out = ctx.student(**inputs, output_hidden_states=hidden)
        train_loss = task_loss(student_out.logits, labels) + task_loss(teacher_out.logits, labels)
        soft_loss = soft_probability_mse(student_out.logits, teacher_out.logits, s.temperature)
        loss = s.alpha_kd * soft_loss + (1.0 - s.alpha_kd) * train_loss
        losses = {"loss": loss, "soft_loss": soft_loss, "task_loss": train_loss}
        if hidden:
            # PKD-skip's map (pipeline/distill/pkd.py), the reference's: student layers 1..S-1.
            layer_map = default_layer_map(len(teacher_out.hidden_states) - 1, len(student_out.hidden_states) - 1)
            losses["pkd_loss"] = patient_loss(student_out.hidden_states, teacher_out.hidden_states, layer_map)
            loss = losses["loss"] = loss + s.beta * losses["pkd_loss"]
        # One loss for two optimizers, back-propagated once into each model (`inputs`): under
        # fp16, Accelerate updates the loss scale at every optimizer step, so each model's
        # gradient must be scaled by the scale its own step unscales by. The student's pass
        # does not reach the teacher's parameters, nor the teacher's the student's (updated by then).
        student_params = [p for p in ctx.student.parameters() if p.requires_grad]
        teacher_params = [p for p in ctx.teacher.parameters() if p.requires_grad]
        ctx.accelerator.backward(loss, inputs=student_params, retain_graph=True)
        if s.max_grad_norm is not None:
            ctx.accelerator.clip_grad_norm_(student_params, s.max_grad_norm)
        step_optimizer(ctx.student_optimizer, ctx.student_scheduler)
        ctx.accelerator.backward(loss, inputs=teacher_params)
        step_optimizer(ctx.teacher_optimizer, ctx.teacher_scheduler)
        return {name: value.item() for name, value in losses.items()}
