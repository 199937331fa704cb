"""The authors' LGTM, transcribed literally from their code (twinkle0331/LGTM: `utils_glue.py`'s
`LGTMTeacher` and the LGTM branch of `run_glue.py`'s training loop): the yardstick of
pipeline/distill/lgtm.py, never the method.

Deep copies of the student and of its optimizer state, the optimizer's update re-implemented
by hand on the copy (transformers 4.x AdamW's), two teacher forward and backward passes for
the finite difference, the student perturbed and restored in place, and their train/eval
modes. The tests compare the project's step with it in float64; the benchmark times it.

Departures, none of them in the algorithm: the deprecated positional forms of `add_`,
`addcmul_` and `addcdiv_` are written with keywords; `Variable` is a plain tensor; and
`cal_loss` computes in the logits' precision when it is above float32 (theirs casts to
float32), so that the float64 tests measure the algorithm, not float32 rounding.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import torch
import torch.nn.functional as F


def _concat(xs):
    return torch.cat([x.view(-1) for x in xs])


def cal_loss(s_logits, t_logits, temperature):
    dtype = torch.promote_types(s_logits.dtype, torch.float32)
    soft_labels = F.log_softmax(t_logits / temperature, dim=-1, dtype=dtype)
    log_prob = F.log_softmax(s_logits / temperature, dim=-1, dtype=dtype)
    ori_kld_loss = -torch.exp(soft_labels) * log_prob + torch.exp(soft_labels) * soft_labels
    loss = torch.mean(torch.sum(ori_kld_loss, dim=-1))
    return loss


class LGTMTeacher(object):
    def __init__(self, teacher_model, student_model, alpha_kd, alpha_kd_t, optimizer_t, scheduler_t, temperature):
        self.temperature = temperature
        self.teacher_model = teacher_model
        self.student_model = student_model
        # for student
        self.alpha_kd = alpha_kd
        # for teacher
        self.alpha_kd_t = alpha_kd_t
        self.optimizer_t = optimizer_t
        self.scheduler_t = scheduler_t

    def cal_stu_tea_loss(self, teacher_outputs, student_outputs, flag=1):
        t_loss, t_logits = teacher_outputs.loss, teacher_outputs.logits
        loss, logits = student_outputs.loss, student_outputs.logits

        student_loss = None
        teacher_loss = None

        if flag == 0:
            # for student
            t_soft_labels = t_logits.detach()
            s_kld_loss = cal_loss(logits, t_soft_labels, self.temperature)
            student_loss = self.alpha_kd * s_kld_loss + (1 - self.alpha_kd) * loss

        # for teacher
        soft_labels = logits.detach()
        t_kld_loss = cal_loss(t_logits, soft_labels, self.temperature)
        teacher_loss = self.alpha_kd_t * t_kld_loss + (1 - self.alpha_kd_t) * t_loss

        return student_loss, teacher_loss

    def step(self, inputs, eval_inputs, network_optimizer):  # network_optimizer: student's opt
        self.optimizer_t.zero_grad()
        self._backward_step_unrolled(inputs, eval_inputs, network_optimizer)
        self.optimizer_t.step()
        self.scheduler_t.step()

    def _backward_step_unrolled(self, inputs, eval_inputs, network_optimizer):
        unrolled_model, dalpha = self._compute_unrolled_model(inputs, network_optimizer)

        for k, v in eval_inputs.items():
            eval_inputs[k] = v.to(unrolled_model.device)
        unrolled_model.train()
        outputs = unrolled_model(**eval_inputs)
        unrolled_loss = outputs[0]

        unrolled_loss.backward()
        vector = [v.grad.data for v in unrolled_model.parameters()]

        implicit_grads = self._hessian_vector_product(vector, inputs)

        eta = self.scheduler_t.get_last_lr()[0]
        for g, ig in zip(dalpha, implicit_grads):
            g.data.sub_(ig.data, alpha=eta)

        for v, g in zip(self.teacher_model.parameters(), dalpha):
            if v.grad is None:
                v.grad = g.data
            else:
                v.grad.data.copy_(g.data)

    def _compute_unrolled_model(self, input, network_optimizer):
        for k, v in input.items():
            input[k] = v.to(self.teacher_model.device)
        teacher_outputs = self.teacher_model(**input)
        student_outputs = self.student_model(**input)
        student_loss, teacher_loss = self.cal_stu_tea_loss(teacher_outputs, student_outputs, flag=0)

        dtheta = torch.autograd.grad(student_loss, self.student_model.parameters())
        theta = []
        index = 0

        for group in network_optimizer.param_groups:
            for p in group["params"]:
                grad = dtheta[index]
                index += 1
                if grad is None:
                    continue
                if grad.is_sparse:
                    raise RuntimeError("Adam does not support sparse gradients, please consider SparseAdam instead")

                state = copy.deepcopy(network_optimizer.state[p])

                # State initialization
                if len(state) == 0:
                    state["step"] = 0
                    # Exponential moving average of gradient values
                    state["exp_avg"] = torch.zeros_like(p.data)
                    # Exponential moving average of squared gradient values
                    state["exp_avg_sq"] = torch.zeros_like(p.data)

                exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                beta1, beta2 = group["betas"]

                state["step"] += 1

                exp_avg.mul_(beta1).add_(grad, alpha=1.0 - beta1)
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1.0 - beta2)
                denom = exp_avg_sq.sqrt().add_(group["eps"])

                step_size = group["lr"]
                if group["correct_bias"]:  # No bias correction for Bert
                    bias_correction1 = 1.0 - beta1 ** state["step"]
                    bias_correction2 = 1.0 - beta2 ** state["step"]
                    step_size = step_size * math.sqrt(bias_correction2) / bias_correction1

                d = p.data.addcdiv(exp_avg, denom, value=-step_size)

                if group["weight_decay"] > 0.0:
                    d.add_(d, alpha=-group["lr"] * group["weight_decay"])
                theta.append(d)
        unrolled_model = self._construct_model_from_theta(_concat(theta).data)

        # calculate the grad for teacher
        dalpha = torch.autograd.grad(teacher_loss, self.teacher_model.parameters())

        return unrolled_model, dalpha

    def _construct_model_from_theta(self, theta):
        model_new = copy.deepcopy(self.student_model)
        model_dict = model_new.state_dict()

        params, offset = {}, 0
        for k, v in self.student_model.named_parameters():
            v_length = np.prod(v.size())
            params[k] = theta[offset: offset + v_length].view(v.size())
            offset += v_length

        assert offset == len(theta)
        model_dict.update(params)
        model_new.load_state_dict(model_dict)
        return model_new

    def _hessian_vector_product(self, vector, input, r=1e-2):
        R = r / _concat(vector).norm()
        self.teacher_model.eval()
        self.student_model.eval()
        teacher_outputs = self.teacher_model(**input)

        for p, v in zip(self.student_model.parameters(), vector):
            p.data.add_(v, alpha=R.item())
        student_outputs = self.student_model(**input)
        _, loss_x = self.cal_stu_tea_loss(teacher_outputs, student_outputs)
        grads_p = torch.autograd.grad(loss_x, self.teacher_model.parameters())

        for p, v in zip(self.student_model.parameters(), vector):
            p.data.sub_(v, alpha=2 * R.item())
        teacher_outputs = self.teacher_model(**input)
        student_outputs = self.student_model(**input)
        _, loss_y = self.cal_stu_tea_loss(teacher_outputs, student_outputs)
        grads_n = torch.autograd.grad(loss_y, self.teacher_model.parameters())

        # recover the parameters of the student
        for p, v in zip(self.student_model.parameters(), vector):
            p.data.add_(v, alpha=R.item())

        return [(x - y).div_(2 * R) for x, y in zip(grads_p, grads_n)]


def training_step(model_total: LGTMTeacher, batch, held_inputs, optimizer, lr_scheduler, *, alpha_kd, temperature):
    """One LGTM iteration of `run_glue.py`'s training loop (gradient accumulation 1): the
    teacher's update, then the student's KD step from the updated teacher."""
    model, teacher_model = model_total.student_model, model_total.teacher_model
    model.train()
    teacher_model.train()
    # update the teacher
    model_total.step(batch, held_inputs, optimizer)

    # use teacher logits as soft labels
    teacher_model.eval()
    model.train()

    with torch.no_grad():
        teacher_outputs = teacher_model(**batch)
        t_logits = teacher_outputs.logits

    outputs = model(**batch)
    loss, logits = outputs.loss, outputs.logits
    loss = alpha_kd * cal_loss(logits, t_logits, temperature) + (1 - alpha_kd) * loss

    # update the student
    loss.backward()
    optimizer.step()
    lr_scheduler.step()
    optimizer.zero_grad()


class _Constant:
    """A stand-in for the teacher's schedule where only its current learning rate is read."""

    def __init__(self, learning_rate: float):
        self.learning_rate = learning_rate

    def get_last_lr(self) -> list[float]:
        return [self.learning_rate]


def with_state_of(optimizer, params):
    """A transformers-4.x AdamW over `params` (copies of `optimizer`'s parameters, in order)
    holding a copy of `optimizer`'s hyper-parameters and state."""
    from reference.transformers_adamw import AdamW

    source = getattr(optimizer, "optimizer", optimizer)
    group = source.param_groups[0]
    copied = AdamW(params, lr=group["lr"], betas=group["betas"], eps=group["eps"], weight_decay=group["weight_decay"])
    originals = [p for g in source.param_groups for p in g["params"]]
    for original, param in zip(originals, copied.param_groups[0]["params"]):
        if source.state.get(original):
            copied.state[param] = copy.deepcopy(source.state[original])
    return copied


def reference_teacher_gradient(teacher, student, student_optimizer, batch: dict, held_batch: dict, *, alpha_kd: float,
                               t_alpha_kd: float, temperature: float, eta: float) -> list[torch.Tensor]:
    """g = g_t − η · h, one tensor per teacher parameter, by `LGTMTeacher` on copies of the
    models and of the student's optimizer state (their r: 0.01), which stay as they were."""
    teacher, student = copy.deepcopy(teacher), copy.deepcopy(student)
    teacher.train(), student.train()
    model_total = LGTMTeacher(teacher, student, alpha_kd, t_alpha_kd, None, _Constant(eta), temperature)
    model_total._backward_step_unrolled(dict(batch), dict(held_batch),
                                        with_state_of(student_optimizer, list(student.parameters())))
    return [p.grad for p in teacher.parameters()]
