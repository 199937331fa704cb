"""PESF-KD's adapter (pipeline/methods/pesfkd.py): a linear map plus a bottleneck of the
teacher's pooled output, added to its logits, with the reference's module names
(1170300319/PESF-KD, nlp/utils_glue.py `Adapter`, nlp/model.py)."""

from __future__ import annotations

import torch
from torch import nn
from transformers.modeling_outputs import SequenceClassifierOutput

from pipeline.errors import InputError

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



