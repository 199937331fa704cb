"""`tiny` models: randomly initialised BERTs of a given shape, and a vocabulary learnt from
the task's own text, for running the whole pipeline offline in minutes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from pipeline.glue.tasks import Task
from pipeline.models.loading import label_config

if TYPE_CHECKING:
    from pipeline.settings.params import ModelSpec

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_wordpiece_tokenizer(texts: Iterable[str], vocab_size: int):
    """An uncased BERT WordPiece tokenizer whose vocabulary is learnt from `texts`.

    The vocabulary is every character seen (alone and as a `##` continuation, so that any
    word can be spelled) plus the most frequent words, ties broken alphabetically. We do not
    use `tokenizers`' WordPieceTrainer: its merges break ties through a randomly seeded hash
    map, so the same text gives a different vocabulary on every run (seen here with
    TOKENIZERS_PARALLELISM=false too), and the models built on it could never be reproduced.
    Normalisation and pre-tokenisation are BERT's own, from `tokenizers`.
    """
    from tokenizers import normalizers, pre_tokenizers
    from transformers import BertTokenizer

    normalizer = normalizers.BertNormalizer(lowercase=True)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    words: Counter[str] = Counter()
    for text in texts:
        words.update(word for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    characters = sorted({char for word in words for char in word})
    vocab = SPECIAL_TOKENS + characters + [f"##{char}" for char in characters]
    room = max(0, vocab_size - len(vocab))
    ranked = sorted((word for word in words if len(word) > 1), key=lambda word: (-words[word], word))
    vocab += ranked[:room]
    # BertTokenizer builds the standard BERT pipeline around the vocabulary, so the saved
    # tokenizer is the same kind as bert-base-uncased's.
    return BertTokenizer(vocab={token: i for i, token in enumerate(vocab)}, do_lower_case=True)


def build_tiny_model(spec: ModelSpec, *, vocab_size: int, task: Task, seed: int):
    """A randomly initialised BERT classifier of the shape `spec` gives."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from pipeline.models.mean_pooled import MeanPooledBertConfig, MeanPooledBertForSequenceClassification

    config_class, model_class = ((BertConfig, BertForSequenceClassification) if spec.pooling == "cls"
                                 else (MeanPooledBertConfig, MeanPooledBertForSequenceClassification))
    config = config_class(
        vocab_size=vocab_size,
        hidden_size=spec.hidden,
        num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads,
        intermediate_size=spec.intermediate,
        **label_config(task),
    )
    torch.manual_seed(seed)
    return model_class(config)
