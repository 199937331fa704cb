"""A BERT sequence classifier that reads the mean of its last layer's token vectors.

BERT's own classifier reads the pooler's transform of the [CLS] vector. A model trained for
sentence embeddings by mean pooling (all-MiniLM-L6-v2) never trained its [CLS] vector to
carry the sentence: below its last layer that vector is nearly the same for every input, so a
student cut from its first layers starts on a constant prediction (docs/real_models.md). This
head averages the token vectors that the attention mask keeps, then applies dropout and a
linear classifier, as BERT's head does after its pooler; the model has no pooler.

The checkpoint saves as model type `bert-mean-pooled`; `register()` teaches transformers'
auto classes to load it, which every loader of pipeline/models/loading.py does first.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import BertConfig, BertModel, BertPreTrainedModel
from transformers.modeling_outputs import SequenceClassifierOutput

MODEL_TYPE = "bert-mean-pooled"


class MeanPooledBertConfig(BertConfig):
    model_type = MODEL_TYPE


class MeanPooledBertForSequenceClassification(BertPreTrainedModel):
    config_class = MeanPooledBertConfig

    def __init__(self, config: MeanPooledBertConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = BertModel(config, add_pooling_layer=False)
        dropout = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def forward(self, input_ids=None, attention_mask=None, token_type_ids=None, labels=None,
                output_hidden_states=None, output_attentions=None, **kwargs) -> SequenceClassifierOutput:
        outputs = self.bert(input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids,
                            output_hidden_states=output_hidden_states, output_attentions=output_attentions,
                            return_dict=True, **kwargs)
        tokens = outputs.last_hidden_state
        if attention_mask is None:
            attention_mask = torch.ones(tokens.shape[:2], device=tokens.device)
        weights = attention_mask.unsqueeze(-1).to(tokens.dtype)
        pooled = (tokens * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
        logits = self.classifier(self.dropout(pooled))
        return SequenceClassifierOutput(loss=None if labels is None else self._loss(logits, labels), logits=logits,
                                        hidden_states=outputs.hidden_states, attentions=outputs.attentions)

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The loss BERT's classifier returns for the config's problem type."""
        if self.num_labels == 1:
            return nn.functional.mse_loss(logits.squeeze(-1), labels.to(logits.dtype))
        return nn.functional.cross_entropy(logits.view(-1, self.num_labels), labels.view(-1))


def mean_pooled_config(config: BertConfig, **changes) -> MeanPooledBertConfig:
    """A BERT config as the mean-pooled model's: every setting kept but the model type, `changes`
    applied."""
    settings = {key: value for key, value in config.to_dict().items() if key != "model_type"}
    return MeanPooledBertConfig.from_dict({**settings, **changes})


def mean_pooled_copy(model) -> MeanPooledBertForSequenceClassification:
    """A BERT sequence classifier's encoder and classifier under the mean-pooled head (its pooler
    left out), weight for weight."""
    pooled = MeanPooledBertForSequenceClassification(mean_pooled_config(model.config))
    missing, unexpected = pooled.load_state_dict(model.state_dict(), strict=False)
    if missing or any(not key.startswith("bert.pooler.") for key in unexpected):
        raise ValueError(f"not a BERT sequence classifier: missing {missing}, unexpected {unexpected}")
    return pooled


def register() -> None:
    """Let AutoConfig and AutoModelForSequenceClassification load `bert-mean-pooled` checkpoints."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    AutoConfig.register(MODEL_TYPE, MeanPooledBertConfig, exist_ok=True)
    AutoModelForSequenceClassification.register(MeanPooledBertConfig, MeanPooledBertForSequenceClassification,
                                                exist_ok=True)
