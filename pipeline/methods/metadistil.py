"""MetaDistil (Zhou et al. 2022, "BERT Learns to Teach"): the teacher, fine-tuned alone first,
keeps learning during distillation from how well a student one step ahead does on held-out data.

One step on a training batch B and a held-out batch H (the `held_out` section, as LGTM's):
1. pilot update: S' = S − η_p · ∇_S L_s(S, T; B), one plain SGD step (η_p =
   `pilot_learning_rate`, fixed: no schedule, no Adam moments), student in train mode, teacher
   in eval mode, S' a function of the teacher's parameters;
2. teacher step: g_T = ∇_T CE(S'(H), y_H), second order through the pilot update (S' in eval
   mode); clipped to `max_grad_norm`; one step of the teacher's AdamW at `teacher_learning_rate`.
   The teacher has no loss of its own: no CE, no KD term;
3. student step: L_s(S, T'; B) from the updated teacher (eval mode, no graph), student in train
   mode, clipped to `max_grad_norm`, one step of the student's AdamW.

    L_s = α · τ² · MSE(softmax(t/τ), softmax(s/τ)) + (1 − α) · CE(s, y) + β · PT,

MSE the mean over examples and classes; PT PKD's patient term (pipeline/distill/patience.py: the
mean squared difference of the L2-normalised [CLS] states of student layers 1..S−1 and teacher
layers j·⌊T/S⌋, the reference's `--select skip`), skipped when β = 0, as the reference does.

Reference: JetRunner/MetaDistil @80e60c1, nlp/run_glue_distillation_meta.py `train` (lines
170-335: steps 1-3; train/eval modes at 179-180, 232 and 291-292; clipping at 263 and 325) and
nlp/distillation_meta.py `MetaPatientDistillation` (the loss; `s_prime_forward`, whose
`is_train=False` puts S' in eval mode). reference/metadistil.py computes the same round
independently (a deep-copied pilot, every loss term written out); tests/test_metadistil.py
compares whole steps with it in float64. What the reference does that is
easy to miss, and is followed: the teacher runs in eval mode in the pilot, so its meta gradient
is taken through an eval-mode forward (its `t_model.train()` at line 232 comes after the teacher's
only graph was built); the pilot step is plain SGD whatever the student's optimizer; both
gradients are clipped; the teacher's rate (1e-5) is not the student's.

How step 2 is computed (pipeline/distill/meta_gradient.py), without copying the student: with v = ∇_{S'} CE(S'(H)) at S' (a
first-order backward of `functional_call(student, S')`), the chain rule through S' = S − η_p g_s
gives g_T = −η_p · ∇_T ⟨g_s, v⟩, the gradient of one scalar through the graph of g_s (built with
`create_graph=True`). That is the reference's backward through S' (which keeps S''s forward graph
on top of g_s's), the same quantity in other order. The double backward runs the student's
attention eagerly: the fused SDPA kernels (flash, memory-efficient) have no double backward.

Departures:
- One held-out batch per step (the project's held-out stream, shared with LGTM). The reference's
  default, `--num_held_batches 0`, averages S''s loss over the *whole* held-out set every step,
  keeping the graph of every batch until the backward: unaffordable beyond the smallest tasks.
- The teacher's AdamW learns at `metadistil.teacher_learning_rate` (the reference's own rate for
  it) on the loop's schedule, not at the `train.teacher_learning_rate` that the other methods
  which train a teacher share (`Metadistil.teacher_learning_rate`).
- The shared `train` section sets the rest, where the reference's argument defaults differ:
  batch size 8 (held-out batches too), 3 epochs, AdamW eps 1e-8 (lines 569-591).
- Losses in float32 at least (the reference: the model's precision).
- Several processes: g_s and v are averaged across processes before S' and g_T are formed (each
  process differentiates its own g_s against the average v), which is the one-process step on
  the whole batch; the reference's pilot under DDP uses each process's own batch
  (`autograd.grad` bypasses DDP's all-reduce).

Regression (STS-B, one output): a softmax over one output is 1, so the reference's soft term is
identically 0 there. The soft term is then its own `--logits_mse` option, MSE(t, s) without
τ² (no temperature to compensate), CE the MSE on the labels, and S''s held-out loss the MSE too
(as the reference's functional forward computes it for one label).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from pipeline.methods.base import Method, MethodInfo
from pipeline.settings.section import Section

if TYPE_CHECKING:
    from pipeline.distill.context import StepContext


class MetadistilSettings(Section):
    alpha: float = Field(ge=0.0, le=1.0, description="student: weight of tau^2 MSE(probabilities) against CE")
    beta: float = Field(ge=0.0, description="student: weight of PKD's [CLS] hidden-state loss (0: none)")
    temperature: float = Field(gt=0.0)
    pilot_learning_rate: float = Field(gt=0.0, description="the pilot update's plain SGD step, fixed")
    teacher_learning_rate: float = Field(gt=0.0, description="the teacher's AdamW, on the loop's schedule; "
                                         "replaces train.teacher_learning_rate")
    max_grad_norm: float = Field(gt=0.0, description="both models' gradients are clipped to this norm")


class Metadistil(Method):
    info = MethodInfo("metadistil", "MetaDistil", row=110, settings=MetadistilSettings, teacher="finetuned",
                      trains_teacher=True, makes_teacher_gradients=True, uses_held_out=True)

    def teacher_learning_rate(self, train, settings: Section) -> float:
        return settings.teacher_learning_rate

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        import torch

        from pipeline.distill.context import model_inputs
        from pipeline.distill.meta_gradient import student_loss, teacher_gradient
        from pipeline.distill.patience import default_layer_map
        from pipeline.optim import step_optimizer

        s, accelerator = ctx.settings, ctx.accelerator
        teacher, student = accelerator.unwrap_model(ctx.teacher), accelerator.unwrap_model(ctx.student)
        losses = dict(alpha=s.alpha, beta=s.beta, temperature=s.temperature)

        # Steps 1 and 2.
        g_t, pilot_loss, held_loss = teacher_gradient(teacher, student, batch, held_batch,
                                                      pilot_learning_rate=s.pilot_learning_rate,
                                                      reduce_mean=ctx.reduce_mean, **losses)
        teacher_params = [p for p in teacher.parameters() if p.requires_grad]
        for param, grad in zip(teacher_params, g_t):
            param.grad = grad
        torch.nn.utils.clip_grad_norm_(teacher_params, s.max_grad_norm)
        step_optimizer(ctx.teacher_optimizer, ctx.teacher_scheduler)

        # 3. The real student step, from the updated teacher.
        inputs = model_inputs(batch)
        hidden = s.beta != 0.0
        teacher.eval()
        with torch.no_grad():
            teacher_out = teacher(**inputs, output_hidden_states=hidden)
        ctx.student.train()
        student_out = ctx.student(**inputs, output_hidden_states=hidden)
        layer_map = default_layer_map(teacher.config.num_hidden_layers, student.config.num_hidden_layers)
        loss = student_loss(student_out, teacher_out, batch["labels"], layer_map=layer_map, **losses)
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(ctx.student.parameters(), s.max_grad_norm)
        step_optimizer(ctx.student_optimizer, ctx.student_scheduler)
        return {"pilot_loss": pilot_loss, "teacher_loss": held_loss, "student_loss": loss.item()}
