"""MetaDistil's training round, transcribed literally from the authors' code: the yardstick of
pipeline/distill/metadistil.py, never the method.

JetRunner/MetaDistil, commit 80e60c11de531b10d1f06ceb2b71c70665bb6aff:
- nlp/distillation_meta.py, `MetaPatientDistillation` (lines 9-87): the student loss's three
  terms, and the pilot student's held-out loss;
- nlp/run_glue_distillation_meta.py, `train` (lines 170-335): one meta round, i.e. step 1
  (the pilot student S' as `fast_weights`, updated by hand with a graph), step 2 (the
  teacher's gradient of S''s held-out loss, clipped, AdamW) and step 3 (the real student
  step, clipped, AdamW); `main` (lines 717-727): the "skip" layer order.

Departures, none of them in the algorithm:
- `functional_bert_for_classification(fast_weights, config, ..., is_train)`
  (nlp/functional_forward_bert.py: a hand-written BERT forward over a dict of weights) is
  `torch.func.functional_call` of the student module with those weights, in train mode when
  `is_train` is true and in eval mode when not. So the criterion keeps the student module
  for its forward code (`s_architecture`).
- One round is one call of `train_round` with the defaults `num_meta_batches` 1,
  `gradient_accumulation_steps` 1 and one process; the held-out loop runs over the batches
  given (the authors' default, `--num_held_batches 0`, is every batch of the held set).
- Outputs by attribute (`.loss`, `.logits`, `.hidden_states`) where the authors index the
  tuples of transformers 2.x (`outputs[0]`, `[1]`, `[-1]`), and hidden states asked for per
  call where the authors set `config.output_hidden_states`.
- `args.max_seq_length` in the PKD view is the batch's length (the authors pad every batch
  to it).
- Batches are (input_ids, attention_mask, token_type_ids, labels) tuples, as the authors'.
"""

from __future__ import annotations

from collections import OrderedDict
from copy import deepcopy as cp
from operator import itemgetter

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.func import functional_call


def skip_order(t_config, s_config):
    """`main`, lines 717-727, for `--select skip` (the default)."""
    order = list(range(t_config.num_hidden_layers - 1))
    every_num = t_config.num_hidden_layers // s_config.num_hidden_layers
    order = torch.LongTensor(order[(every_num - 1)::every_num])
    order, _ = order[:(s_config.num_hidden_layers - 1)].sort()
    return order


def functional_bert_for_classification(fast_weights, model, input_ids=None, attention_mask=None,
                                       token_type_ids=None, labels=None, is_train=True):
    """The stand-in for nlp/functional_forward_bert.py: (loss, logits, hidden_states)."""
    training = model.training
    model.train(is_train)
    try:
        outputs = functional_call(model, dict(fast_weights), (), dict(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids, labels=labels,
            output_hidden_states=True))
    finally:
        model.train(training)
    return outputs.loss, outputs.logits, outputs.hidden_states


class MetaPatientDistillation(nn.Module):
    def __init__(self, t_config, s_config, s_architecture):
        super(MetaPatientDistillation, self).__init__()
        self.t_config = t_config
        self.s_config = s_config
        self.s_architecture = [s_architecture]  # a list: not registered as a submodule

    def forward(self, t_model, s_model, order, input_ids, token_type_ids, attention_mask, labels, args, teacher_grad):
        if teacher_grad:
            t_outputs = t_model(input_ids=input_ids,
                                token_type_ids=token_type_ids,
                                attention_mask=attention_mask,
                                output_hidden_states=True)
        else:
            with torch.no_grad():
                t_outputs = t_model(input_ids=input_ids,
                                    token_type_ids=token_type_ids,
                                    attention_mask=attention_mask,
                                    output_hidden_states=True)

        if isinstance(s_model, nn.Module):
            s_outputs = s_model(input_ids=input_ids,
                                token_type_ids=token_type_ids,
                                attention_mask=attention_mask,
                                labels=labels,
                                output_hidden_states=True)
            s_outputs = (s_outputs.loss, s_outputs.logits, s_outputs.hidden_states)
        else:
            s_outputs = functional_bert_for_classification(
                s_model,
                self.s_architecture[0],
                input_ids=input_ids,
                token_type_ids=token_type_ids,
                attention_mask=attention_mask,
                labels=labels
            )

        t_logits, t_features = t_outputs.logits, t_outputs.hidden_states
        train_loss, s_logits, s_features = s_outputs[0], s_outputs[1], s_outputs[-1]

        if args.logits_mse:
            soft_loss = F.mse_loss(t_logits, s_logits)
        else:
            T = args.temperature
            soft_targets = F.softmax(t_logits / T, dim=-1)

            probs = F.softmax(s_logits / T, dim=-1)
            soft_loss = F.mse_loss(soft_targets, probs) * T * T

        if args.beta == 0:  # if beta=0, we don't even compute pkd_loss to save some time
            pkd_loss = torch.zeros_like(soft_loss)
        else:
            t_features = torch.cat(t_features[1:-1], dim=0).view(self.t_config.num_hidden_layers - 1,
                                                                 -1,
                                                                 args.max_seq_length,
                                                                 self.t_config.hidden_size)[:, :, 0]

            s_features = torch.cat(s_features[1:-1], dim=0).view(self.s_config.num_hidden_layers - 1,
                                                                 -1,
                                                                 args.max_seq_length,
                                                                 self.s_config.hidden_size)[:, :, 0]

            t_features = itemgetter(order)(t_features)
            t_features = t_features / t_features.norm(dim=-1).unsqueeze(-1)
            s_features = s_features / s_features.norm(dim=-1).unsqueeze(-1)
            pkd_loss = F.mse_loss(s_features, t_features, reduction="mean")

        return train_loss, soft_loss, pkd_loss

    def s_prime_forward(self, s_prime, input_ids, token_type_ids, attention_mask, labels, args):

        s_outputs = functional_bert_for_classification(
            s_prime,
            self.s_architecture[0],
            input_ids=input_ids,
            token_type_ids=token_type_ids,
            attention_mask=attention_mask,
            labels=labels,
            is_train=False
        )

        train_loss, s_logits, s_features = s_outputs[0], s_outputs[1], s_outputs[-1]  # noqa: F841 (as theirs)

        return train_loss


def train_round(args, t_model, s_model, order, d_criterion, t_optimizer, t_scheduler, s_optimizer, s_scheduler,
                batches_buffer, held_dataloader):
    """`train`, lines 170-335: one meta round over `batches_buffer` ([(d_step, batch)]).
    Returns (assume_loss, s_prime_loss, real_loss) as floats."""
    #########################################
    #           Step 1: Assume S'           #
    #########################################

    # Time machine!
    fast_weights = OrderedDict((name, param) for (name, param) in s_model.named_parameters())
    s_model_backup_state_dict, s_optimizer_backup_state_dict = cp(s_model.state_dict()), cp(
        s_optimizer.state_dict())

    s_model.train()
    t_model.eval()

    for step, batch in batches_buffer:

        input_ids, attention_mask, token_type_ids, labels = batch[0], batch[1], batch[2], batch[3]
        args.max_seq_length = input_ids.size(1)

        assume_train_loss, assume_soft_loss, assume_pkd_loss = d_criterion(
            t_model=t_model,
            s_model=s_model if step == 0 else fast_weights,
            order=order,
            input_ids=input_ids,
            token_type_ids=token_type_ids,
            attention_mask=attention_mask,
            labels=labels,
            args=args,
            teacher_grad=True)

        assume_loss = args.alpha * assume_soft_loss + (
            1 - args.alpha) * assume_train_loss + args.beta * assume_pkd_loss

        # There is no optimizer.step() so we can always update the fast_weights without waiting
        grads = torch.autograd.grad(assume_loss, s_model.parameters() if step == 0 else fast_weights.values(),
                                    create_graph=True, retain_graph=True)

        fast_weights = OrderedDict(
            (name, param - args.assume_s_step_size * grad) for ((name, param), grad) in
            zip(fast_weights.items(), grads))

    #########################################
    #  Step 2: Train T with S' on HELD set  #
    #########################################

    s_prime_loss = None
    held_batch_num = 0

    t_model.train()

    for step, batch in enumerate(held_dataloader):
        input_ids, attention_mask, token_type_ids, labels = batch[0], batch[1], batch[2], batch[3]

        s_prime_step_loss = d_criterion.s_prime_forward(
            s_prime=fast_weights,
            input_ids=input_ids,
            token_type_ids=token_type_ids,
            attention_mask=attention_mask,
            labels=labels,
            args=args)

        if s_prime_loss is None:
            s_prime_loss = s_prime_step_loss
        else:
            s_prime_loss += s_prime_step_loss

        held_batch_num += 1

    s_prime_loss /= held_batch_num

    t_grads = torch.autograd.grad(s_prime_loss, t_model.parameters())

    for p, gr in zip(t_model.parameters(), t_grads):
        p.grad = gr

    torch.nn.utils.clip_grad_norm_(t_model.parameters(), args.max_grad_norm)

    t_optimizer.step()
    t_scheduler.step()

    # Manual zero_grad
    for p in t_model.parameters():
        p.grad = None

    for p in s_model.parameters():
        p.grad = None

    del t_grads
    del grads
    del fast_weights

    #########################################
    #        Step 3: Actually update S      #
    #########################################

    # We use the Time Machine!
    s_model.load_state_dict(s_model_backup_state_dict)
    s_optimizer.load_state_dict(s_optimizer_backup_state_dict)

    del s_model_backup_state_dict, s_optimizer_backup_state_dict

    s_model.train()
    t_model.eval()

    for step, batch in batches_buffer:

        input_ids, attention_mask, token_type_ids, labels = batch[0], batch[1], batch[2], batch[3]
        args.max_seq_length = input_ids.size(1)

        real_train_loss, real_soft_loss, real_pkd_loss = d_criterion(
            t_model=t_model,
            s_model=s_model,
            order=order,
            input_ids=input_ids,
            token_type_ids=token_type_ids,
            attention_mask=attention_mask,
            labels=labels,
            args=args,
            teacher_grad=False)

        real_loss = args.alpha * real_soft_loss + (
            1 - args.alpha) * real_train_loss + args.beta * real_pkd_loss

        real_loss.backward()
        torch.nn.utils.clip_grad_norm_(s_model.parameters(), args.max_grad_norm)

        if (step + 1) % args.gradient_accumulation_steps == 0:
            s_optimizer.step()
            s_scheduler.step()
            s_optimizer.zero_grad()

    return assume_loss.item(), s_prime_loss.item(), real_loss.item()
