"""LGTM: the teacher learns from the distillation influence of its training samples.

One training step (docs/method.md, "One LGTM step"):
1. forward T and S on the batch B (train mode); g_s = ∇θs L_s, g_t = ∇θt L_t;
2. virtual student step θs' = what the student's optimizer would do with g_s;
3. v = ∇θs' CE(S_θs'(x_H), y_H) on a held-out batch H (train mode);
4. h = (∇θt L_t(θt; θs + R·v) − ∇θt L_t(θt; θs − R·v)) / 2R with R = r / ‖v‖ (eval mode);
5. teacher step with g = g_t − η_t · h;
6. student step: KD from the updated teacher (teacher in eval mode, student in train mode).

Steps 1 to 5, and how `mode` and `influence` compute them, are in
pipeline/distill/lgtm_gradient.py; this module takes the step and, in the fast mode, step 6.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from pipeline.methods.base import Method, MethodInfo
from pipeline.methods.prokt import ProktSettings
from pipeline.settings.section import Section

if TYPE_CHECKING:
    from pipeline.distill.context import StepContext


class LgtmSettings(ProktSettings):
    radius: float = Field(gt=0.0, description="finite-difference radius r; the step is R = r / ||v||")
    mode: Literal["fast", "faithful"]
    influence: Literal["finite_difference", "jvp"]
    influence_every: int | None = Field(ge=0, description="per-sample influence rows every N steps and at the last "
                                                          "(runs/lgtm/TASK/influence.parquet); null: at each "
                                                          "evaluation (train.eval_steps); 0: none")


class Lgtm(Method):
    info = MethodInfo("lgtm", "LGTM", row=120, settings=LgtmSettings, teacher="pretrained", trains_teacher=True,
                      makes_teacher_gradients=True, uses_held_out=True)
    samples_file = "influence.parquet"

    def samples_every(self, settings: Section, eval_steps: int) -> int:
        """`lgtm.influence_every`: null, at each evaluation; 0, never."""
        return eval_steps if settings.influence_every is None else settings.influence_every

    def step(self, ctx: StepContext, batch: dict, held_batch: dict | None) -> dict[str, float]:
        import torch

        from pipeline.distill.context import distill_student, model_inputs
        from pipeline.distill.lgtm_gradient import first_forward, grads, teacher_gradient
        from pipeline.distill.losses import student_loss
        from pipeline.distill.sample_influence import gathered, sample_rows
        from pipeline.optim import apply_gradients

        s, accelerator = ctx.settings, ctx.accelerator
        teacher, student = accelerator.unwrap_model(ctx.teacher), accelerator.unwrap_model(ctx.student)

        def union_rows(rows: torch.Tensor) -> torch.Tensor:
            if accelerator.num_processes == 1:
                return rows
            gathered = accelerator.gather(accelerator.pad_across_processes(rows, pad_index=-1))
            return gathered[gathered >= 0].unique()

        first = first_forward(teacher, student, batch, held_batch, t_alpha_kd=s.t_alpha_kd, temperature=s.temperature,
                              union_rows=union_rows)
        fast = s.mode == "fast"
        samples = [] if ctx.samples is not None else None
        gradient = teacher_gradient(
            teacher, student, ctx.student_optimizer, batch, held_batch,
            alpha_kd=s.alpha_kd, t_alpha_kd=s.t_alpha_kd, temperature=s.temperature,
            eta=ctx.teacher_scheduler.get_last_lr()[0], radius=s.radius, mode=s.mode, influence=s.influence,
            reduce_mean=ctx.reduce_mean, first=first, keep_student_graph=fast, samples=samples,
        )
        if samples is not None:
            sample, idx, labels = gathered(samples[0], batch, accelerator)
            ctx.samples.append(sample_rows(sample, idx, labels, s.temperature))
        apply_gradients(teacher.parameters(), gradient, ctx.teacher_optimizer, ctx.teacher_scheduler)
        losses = {"teacher_loss": first.teacher_loss.item()}
        if not fast:  # 6. as the authors: a new student forward, KD from the updated teacher
            return {**losses, "student_loss": distill_student(ctx, batch, alpha_kd=s.alpha_kd, temperature=s.temperature)}

        # 6. KD from the updated teacher (eval mode), back-propagated through step 1's student
        # forward: θs has not changed since, only the teacher's soft labels have. With dropout,
        # the student's dropout mask is step 1's rather than a fresh one.
        teacher.eval()
        with torch.no_grad():
            updated_teacher_logits = teacher(**model_inputs(batch)).logits
        loss_s = student_loss(first.student_logits, updated_teacher_logits, batch["labels"],
                              alpha_kd=s.alpha_kd, temperature=s.temperature)
        grads = first.view.full_gradients(grads(loss_s, first.student_leaves))
        apply_gradients(first.view.params, ctx.reduce_mean(grads), ctx.student_optimizer, ctx.student_scheduler)
        return {**losses, "student_loss": loss_s.item()}
