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

MSE the mean over examples and classes; PT PKD's patient term (pipeline/distill/pkd.py: the
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

How step 2 is computed, without copying the student: with v = ∇_{S'} CE(S'(H)) at S' (a
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

import torch
from torch.func import functional_call

from pipeline.distill.base import Method, Reduce, StepContext, model_inputs, no_reduction
from pipeline.distill.lgtm import _eager_attention, _modes
from pipeline.distill.losses import at_least_float32, soft_probability_mse, task_loss
from pipeline.distill.pkd import default_layer_map, patient_loss
from pipeline.optim import step_optimizer
from pipeline.settings.methods import METHODS
from pipeline.settings.section import Section


def student_loss(student_out, teacher_out, labels: torch.Tensor, *, alpha: float, beta: float, temperature: float,
                 layer_map: list[int]) -> torch.Tensor:
    """L_s of two model outputs (hidden states needed when β > 0); the teacher is not detached:
    the pilot differentiates through it."""
    loss = alpha * soft_probability_mse(student_out.logits, teacher_out.logits, temperature)
    loss = loss + (1.0 - alpha) * task_loss(at_least_float32(student_out.logits), labels)
    if beta != 0.0:
        loss = loss + beta * patient_loss(student_out.hidden_states, teacher_out.hidden_states, layer_map)
    return loss


def teacher_gradient(
    teacher, student, batch: dict, held_batch: dict, *, alpha: float, beta: float, temperature: float,
    pilot_learning_rate: float, reduce_mean: Reduce = no_reduction,
) -> tuple[list[torch.Tensor], float, float]:
    """(g_T, L_s at the pilot, CE(S'(H))): steps 1 and 2 without the teacher's step, g_T one
    tensor per teacher parameter that requires grad. Leaves both models (values, .grad, modes)
    as they were."""
    named = [(n, p) for n, p in student.named_parameters() if p.requires_grad]
    names, params = [n for n, _ in named], [p for _, p in named]
    teacher_params = [p for p in teacher.parameters() if p.requires_grad]
    layer_map = default_layer_map(teacher.config.num_hidden_layers, student.config.num_hidden_layers)
    hidden = beta != 0.0
    inputs = model_inputs(batch)

    # 1. The pilot: g_s with its graph, through the (eval-mode) teacher's forward.
    with _modes(teacher, False, student, True), _eager_attention(student):
        teacher_out = teacher(**inputs, output_hidden_states=hidden)
        student_out = student(**inputs, output_hidden_states=hidden)
        pilot_loss = student_loss(student_out, teacher_out, batch["labels"], alpha=alpha, beta=beta,
                                  temperature=temperature, layer_map=layer_map)
        g_s = torch.autograd.grad(pilot_loss, params, create_graph=True, materialize_grads=True)
    mean_g_s = reduce_mean([g.detach() for g in g_s])
    pilot = [(p.detach() - pilot_learning_rate * g).requires_grad_() for p, g in zip(params, mean_g_s)]

    # 2. v = ∇_{S'} CE(S'(H)), S' in eval mode as the reference's `s_prime_forward`.
    with _modes(teacher, teacher.training, student, False):
        held_logits = functional_call(student, dict(zip(names, pilot)), (), model_inputs(held_batch)).logits
    held_loss = task_loss(at_least_float32(held_logits), held_batch["labels"])
    v = reduce_mean(list(torch.autograd.grad(held_loss, pilot, materialize_grads=True)))
    del pilot, held_logits

    # dS'/dT = −η_p · ∂g_s/∂T: g_T is a vector-Jacobian product of g_s with v.
    inner = sum((g * direction).sum() for g, direction in zip(g_s, v))
    g_t = torch.autograd.grad(inner, teacher_params, materialize_grads=True)
    return reduce_mean([-pilot_learning_rate * g for g in g_t]), pilot_loss.item(), held_loss.item()


class Metadistil(Method):
    info = METHODS["metadistil"]

    def teacher_learning_rate(self, train, settings: Section) -> float:
        return settings.teacher_learning_rate

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
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
