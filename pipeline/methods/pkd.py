"""PKD (Patient KD, Sun et al. 2019): the student distils from a frozen teacher fine-tuned alone,
from its logits and from the [CLS] hidden states of intermediate layers.

Only the student trains. Its loss, as the reference's training step computes it
(intersun/PKD-for-BERT-Model-Compression, NLI_KD_training.py, lines 256-275, with `kd_model
kd.cls` and `normalize_patience True`, its PKD preset):

    L = α · τ² · KL_τ(T ‖ S) / C + (1 − α) · CE(S, y) + β · PT,
    PT = mean over (examples, mapped layers, hidden units) of
         (ĥ_S,j − ĥ_T,map(j))²,  ĥ = h[:, 0] / ‖h[:, 0]‖  (the [CLS] state, L2-normalised)

- The KL term is scaled by τ² and divided by the number of classes C: the reference's
  `distillation_loss` (src/KD_loss.py, lines 7-22) uses `nn.KLDivLoss(reduction='mean')`, which
  averages over examples *and* classes, times T·T; α weights it against (1 − α) · CE.
- PT is `patience_loss` (src/KD_loss.py, lines 25-30) on the [CLS] states (src/modeling.py,
  lines 120-123): `F.normalize` then `F.mse_loss`, the mean over every element.
- The teacher's states and logits are those of its eval mode (the reference precomputes them
  with the teacher in eval mode, src/utils.py `eval_model_dataloader`); the student is in
  train mode.
- Layer map: student layers 1..S−1 learn from teacher layers given by `default_layer_map`
  (PKD-skip), the student's last layer left out as the reference does (`full_output[:-1]`,
  NLI_KD_training.py line 260): its [CLS] state feeds the classifier, already taught by KD.

Departures: the reference rounds the patient loss's value to float16 (`.half()`, for its apex
training) and computes it in float32 whatever its inputs; here it is at least float32, in the
inputs' precision above that, and the L2 normalisation is done in that precision too (the
reference normalises the stored, possibly float16, states). The reference reads the teacher's
states from a file written once, in float32; here the teacher runs each step (the same values).
Its optimizer (BertAdam, warm-up 0.1, weight decay 0.01) is the project's `train` section.

Regression (STS-B, one output): the reference has no regression path (its loss is
cross-entropy whatever the task). Here the KD and task
terms are losses.py's mean squared errors, α · MSE(S, T) + (1 − α) · MSE(S, y), with no τ² (no
softmax, so no temperature to compensate) and C = 1; PT is unchanged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import Field

from pipeline.methods.base import Method, MethodInfo
from pipeline.methods.kd import KdSettings

if TYPE_CHECKING:
    from pipeline.distill.context import StepContext


class PkdSettings(KdSettings):
    """PKD: α · τ² · KL_τ / C + (1 − α) · CE + β · patient loss (pipeline/distill/patience.py)."""

    beta: float = Field(ge=0.0, description="weight of the patient loss (normalised [CLS] states of mapped layers)")
    # Each entry must lie in 1..teacher depth: the upper bound is checked by the step, which knows the depths.
    layer_map: list[Annotated[int, Field(ge=1)]] | None = Field(
        description="teacher layer (1-based) for student layers 1, 2, ...; null: PKD-skip, the last student layer left out")


class Pkd(Method):
    info = MethodInfo("pkd", "PKD", row=30, settings=PkdSettings, teacher="finetuned")

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        import torch

        from pipeline.distill.context import model_inputs
        from pipeline.distill.patience import default_layer_map, patient_loss, pkd_student_loss
        from pipeline.optim import minimize

        s = ctx.settings
        inputs = model_inputs(batch)
        ctx.teacher.eval()
        ctx.student.train()
        with torch.no_grad(), ctx.accelerator.autocast():
            teacher = ctx.teacher(**inputs, output_hidden_states=True)
        student = ctx.student(**inputs, output_hidden_states=True)
        layer_map = s.layer_map
        if layer_map is None:
            layer_map = default_layer_map(len(teacher.hidden_states) - 1, len(student.hidden_states) - 1)
        patience = patient_loss(student.hidden_states, teacher.hidden_states, layer_map)
        loss = pkd_student_loss(student.logits, teacher.logits, batch["labels"], patience, alpha_kd=s.alpha_kd,
                                temperature=s.temperature, beta=s.beta)
        minimize(loss, ctx.accelerator, ctx.student_optimizer, ctx.student_scheduler)
        return {"student_loss": loss.item(), "patient_loss": patience.item()}
