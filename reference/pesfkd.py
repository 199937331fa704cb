"""PESF-KD's model, loss and update for GLUE, transcribed literally from 1170300319/PESF-KD,
commit d3f6aa81897d17d9e33b5a412ca0618f626c798d, nlp/:
- `utils_glue.py` `Adapter` (l.37-50);
- `model.py` `BertForSequenceClassification.forward` (l.61-91), the adapter added to the logits;
- `distillation_meta.py` `MetaPatientDistillation.forward` (l.17-71): the three losses;
- `run_glue_distillation.py`: the teacher's optimizer groups and freeze line of
  `get_optimizer_and_scheduler` (l.84-92), PKD's layer `order` of `main` (l.668-678), and one
  iteration of `train`'s inner loop (l.175-218) with gradient_accumulation_steps 1 and one GPU.
The yardstick of pipeline/distill/pesfkd.py, never the method.

Departures, none of them in the algorithm: the model is built around an existing BERT's
`bert`, `dropout` and `classifier` modules rather than loaded by `from_pretrained` (which leaves
it in eval mode: the caller sets the modes as the reference's would be); `position_ids` and
`head_mask` (always None there) are not passed on; the optimizers and schedulers are the
caller's (transformers' AdamW there); `args`, `t_config` and `s_config` are any objects with
the fields read.
"""

from __future__ import annotations

from operator import itemgetter

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn import CrossEntropyLoss, MSELoss


class Adapter(nn.Module):
    def __init__(self, input_size, hidd_size, output_size):
        super(Adapter, self).__init__()

        self.adapter = nn.Sequential(nn.Linear(input_size, hidd_size),
                                     nn.ReLU(),
                                     nn.Linear(hidd_size, output_size),
                                     nn.Dropout(0.1))
        self.l1 = nn.Sequential(
            nn.Linear(input_size, output_size)
        )

    def forward(self, input_ids):
        return self.l1(input_ids)+self.adapter(input_ids)


class BertForSequenceClassification(nn.Module):
    def __init__(self, bert, dropout, classifier, num_labels, adapter=None):
        super(BertForSequenceClassification, self).__init__()
        self.num_labels = num_labels
        self.bert = bert
        self.dropout = dropout
        self.classifier = classifier
        self.adapter = adapter

    def forward(self, input_ids, attention_mask=None, token_type_ids=None,
                position_ids=None, head_mask=None, labels=None):

        outputs = self.bert(input_ids,
                            attention_mask=attention_mask,
                            token_type_ids=token_type_ids,
                            output_hidden_states=True)  # t_config/s_config.output_hidden_states = True (l.625, 634)

        pooled_output = outputs[1]
        # print(pooled_output.shape)

        pooled_output = self.dropout(pooled_output)
        logits = self.classifier(pooled_output)

        if self.adapter is not None:
            logits += self.adapter(pooled_output)

        outputs = (logits,) + outputs[2:]  # add hidden states and attention if they are here

        if labels is not None:
            if self.num_labels == 1:
                #  We are doing regression
                loss_fct = MSELoss()
                loss = loss_fct(logits.view(-1), labels.view(-1))
            else:
                loss_fct = CrossEntropyLoss()
                loss = loss_fct(logits.view(-1, self.num_labels), labels.view(-1))
            outputs = (loss,) + outputs

        return outputs  # (loss), logits, (hidden_states), (attentions)


class MetaPatientDistillation(nn.Module):
    def __init__(self, t_config, s_config):
        super(MetaPatientDistillation, self).__init__()
        self.t_config = t_config
        self.s_config = s_config

    def forward(self, t_model, s_model, order, input_ids, token_type_ids, attention_mask, labels, args, teacher_grad):
        if teacher_grad:
            t_outputs = t_model(input_ids=input_ids,
                                token_type_ids=token_type_ids,
                                attention_mask=attention_mask,
                                labels=labels)
        else:
            with torch.no_grad():
                t_outputs = t_model(input_ids=input_ids,
                                    token_type_ids=token_type_ids,
                                    attention_mask=attention_mask)

        s_outputs = s_model(input_ids=input_ids,
                            token_type_ids=token_type_ids,
                            attention_mask=attention_mask,
                            labels=labels)


        if teacher_grad:
            train_loss_t, t_logits, t_features = t_outputs[0], t_outputs[1], t_outputs[-1]
        else:
            train_loss_t = 0
            t_logits, t_features = t_outputs[0], t_outputs[-1]
        train_loss, s_logits, s_features = s_outputs[0], s_outputs[1], s_outputs[-1]

        train_loss += train_loss_t

        if args.logits_mse:
            soft_loss = F.mse_loss(F.softmax(t_logits, dim=-1), F.softmax(s_logits, dim=-1))
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


def teacher_optimizer_grouped_parameters(model, args, lr):
    """`get_optimizer_and_scheduler(..., teacher=True)` with `args.use_adapter`, l.83-92: the
    parameter groups, and the line meant to freeze the teacher's encoder. `model` is the
    DataParallel/DDP-wrapped teacher (`model.module`; unwrapped, that line raises)."""
    no_decay = ['bias', 'LayerNorm.weight']
    optimizer_grouped_parameters = [
        {'params': [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)],
         'weight_decay': args.weight_decay, 'lr': lr},
        {'params': [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], 'weight_decay': 0.0,
         'lr': lr}
    ]
    for p in model.module.bert.parameters():
        p.required_grad = False
    return optimizer_grouped_parameters


def skip_order(t_config, s_config):
    """`main`, l.668-678, for `args.select == 'skip'`."""
    order = list(range(t_config.num_hidden_layers - 1))
    every_num = t_config.num_hidden_layers // s_config.num_hidden_layers
    order = torch.LongTensor(order[(every_num - 1)::every_num])
    order, _ = order[:(s_config.num_hidden_layers - 1)].sort()
    return order


def train_step(args, t_model, s_model, order, d_criterion, batch, s_optimizer, s_scheduler, t_optimizer, t_scheduler):
    """One pass of `for step, batch in batches_buffer:` (l.175-218)."""
    s_model.train()
    #t_model.eval()

    input_ids, attention_mask, token_type_ids, labels = batch[0], batch[1], batch[2], batch[3]

    real_train_loss, real_soft_loss, real_pkd_loss = d_criterion(
        t_model=t_model,
        s_model=s_model,
        order=order,
        input_ids=input_ids,
        token_type_ids=token_type_ids,
        attention_mask=attention_mask,
        labels=labels,
        args=args,
        teacher_grad=True)

    real_loss = args.alpha * real_soft_loss + (
        1 - args.alpha) * real_train_loss + args.beta * real_pkd_loss

    real_loss.backward()
    total_norm = torch.nn.utils.clip_grad_norm_(s_model.parameters(), args.max_grad_norm)

    s_optimizer.step()
    s_scheduler.step()
    s_optimizer.zero_grad()

    t_optimizer.step()
    t_scheduler.step()
    t_optimizer.zero_grad()

    return real_loss.item(), real_train_loss.item(), real_soft_loss.item(), real_pkd_loss.item(), total_norm
