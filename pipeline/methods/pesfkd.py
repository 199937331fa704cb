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
  checkpoint, which has no adapter, is loaded). `AdaptedTeacher` (pipeline/distill/adapter.py); its state_dict keys
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

from typing import TYPE_CHECKING

from pydantic import Field

from pipeline.methods.base import Method, MethodInfo
from pipeline.settings.section import Section

if TYPE_CHECKING:
    from torch import nn

    from pipeline.distill.context import StepContext


class PesfkdSettings(Section):
    """PESF-KD: the student and the adapted teacher on one loss,
    α · τ² · MSE(softmax(T/τ), softmax(S/τ)) + (1 − α) · (CE_s + CE_t) + β · PKD."""

    alpha_kd: float = Field(ge=0.0, le=1.0, description="α: weight of the soft-target MSE against CE_s + CE_t")
    temperature: float = Field(gt=0.0)
    beta: float = Field(ge=0.0, description="β: weight of PKD's [CLS] hidden-state loss (0: not computed)")
    adapter_size: int | None = Field(gt=0, description="the adapter's bottleneck width; null: teacher hidden / 12")
    freeze_teacher_encoder: bool = Field(description="false: the whole teacher trains (the released code); true: "
                                                     "only its classifier and the adapter (what its freeze line means)")
    max_grad_norm: float | None = Field(gt=0.0, description="the student's gradient norm is clipped to it (null: not)")


class Pesfkd(Method):
    info = MethodInfo("pesfkd", "PESF-KD", row=100, settings=PesfkdSettings, teacher="finetuned", trains_teacher=True,
                      reads_teacher_pooler=True)

    def prepare_teacher(self, teacher: nn.Module, settings: Section) -> nn.Module:
        from pipeline.distill.adapter import AdaptedTeacher

        adapted = AdaptedTeacher(teacher, settings.adapter_size)
        if settings.freeze_teacher_encoder:
            teacher.base_model.requires_grad_(False)
        return adapted

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        from pipeline.distill.context import model_inputs
        from pipeline.distill.losses import soft_probability_mse, task_loss
        from pipeline.distill.patience import default_layer_map, patient_loss
        from pipeline.optim import step_optimizer

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
            # PKD-skip's map (pipeline/distill/patience.py), the reference's: student layers 1..S-1.
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
