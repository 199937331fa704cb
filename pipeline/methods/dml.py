"""DML (Deep Mutual Learning, Zhang et al. 2018): teacher and student, both from their
pre-trained checkpoints, learn from the labels and from each other, each with its own
optimizer. Each model minimises

    L_self = CE(self, y) + w · KL_τ(other ‖ self)      (the other's logits detached)

with w = `kl_weight` and τ = `temperature` (1 and 1 in the reference: unweighted sum, softmax
of the raw logits). One step updates the teacher first, then the student, and the student's
soft targets come from the teacher *after* its update.

Follows YingZhangDUT/Deep-Mutual-Learning (TensorFlow), `train_models.py`:
- `_tower_loss` (l.70-114): net i's loss is its softmax cross-entropy plus
  `kl_loss_compute(logits_i, logits_j)` = KL(p_j ‖ p_i), with weight 1 and no temperature.
- `train` (l.159-164, 237-243, 276-282, 310-316): one Adam optimizer per network, each given the gradients of
  its own loss with respect to its own variables only (`compute_gradients(var_list=...)`), so
  the other network's logits act as constants; the step loop runs net 0's train op, then net
  1's, as two `sess.run` calls. Each call evaluates the whole graph afresh, so net 1's target
  is net 0's prediction after net 0's update: "before or after" is *after*. Both networks are
  built with `is_training=True`, so the peer's prediction comes from a train-mode forward
  (dropout on), here too; within each call net 0 runs before net 1, as here (the teacher is
  net 0), which keeps dropout's random stream in the reference's order.
  `reference/dml.py` re-implements both (the loss: `losses.mutual_loss`); tests/test_dml.py compares whole steps with it.

Departures:
- Both updates use the same batch, as the paper's Algorithm 1 does. In the TF code each
  `sess.run` also dequeues a new batch from the input queue, so net 1 is updated on the next
  batch; the loop here hands a step one batch.
- The KL is computed from log-softmaxes (`losses.soft_target_loss`, float32 at least);
  the reference's `pred2 * log(1e-8 + pred2 / (pred1 + 1e-8))` guards a division of
  probabilities with 1e-8, which moves the loss by about 1e-8 per class (float32 round-off)
  and is not needed with log-softmax.
- Cross-entropy without label smoothing (the reference's flag default; its Market-1501 script
  sets 0.1 for person re-identification); L2 regularisation is the optimizer's weight decay
  (`train.weight_decay`); the learning rates are `train.learning_rate` (student) and
  `train.teacher_learning_rate` (teacher) where the reference gives both networks one rate.
- Which model goes first is not in the reference (its networks are symmetric); the teacher
  goes first, as in ProKT, so that the student learns from the updated teacher.

Regression (STS-B, one output): a softmax over one output is constant, so the reference's KL
would carry nothing; as everywhere in this project (`losses.py`) the task loss is the MSE on
the labels and the mutual term the MSE toward the peer's output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from pipeline.methods.base import Method, MethodInfo
from pipeline.settings.section import Section

if TYPE_CHECKING:
    from pipeline.distill.context import StepContext


class DmlSettings(Section):
    """DML: each model on CE + w · KL_τ(other || self)."""

    kl_weight: float = Field(ge=0.0, description="w: weight of KL(other || self) added to each model's CE")
    temperature: float = Field(gt=0.0)
    init_classifier_to_zero: bool = Field(description="both classification heads start at zero")


class Dml(Method):
    info = MethodInfo("dml", "DML", row=80, settings=DmlSettings, teacher="pretrained", trains_teacher=True)

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        import torch

        from pipeline.distill.context import model_inputs
        from pipeline.distill.losses import mutual_loss
        from pipeline.optim import minimize

        s = ctx.settings
        inputs, labels = model_inputs(batch), batch["labels"]
        ctx.teacher.train()
        ctx.student.train()
        losses = {}
        # Net 0 (the teacher), then net 1 (the student); each update re-runs both forwards, in
        # the same order, as the reference's second `sess.run` does.
        for name, optimizer, scheduler in (("teacher", ctx.teacher_optimizer, ctx.teacher_scheduler),
                                           ("student", ctx.student_optimizer, ctx.student_scheduler)):
            with torch.set_grad_enabled(name == "teacher"):
                teacher_logits = ctx.teacher(**inputs).logits
            with torch.set_grad_enabled(name == "student"):
                student_logits = ctx.student(**inputs).logits
            own, peer = (teacher_logits, student_logits) if name == "teacher" else (student_logits, teacher_logits)
            loss = mutual_loss(own, peer, labels, kl_weight=s.kl_weight, temperature=s.temperature)
            minimize(loss, ctx.accelerator, optimizer, scheduler)
            losses[f"{name}_loss"] = loss.item()
        return losses
