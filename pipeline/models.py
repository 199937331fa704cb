"""Teacher and student models: from the hub, from a local path, or `tiny` and built here.

Whatever the source, the result is saved as an ordinary model directory (config, weights,
tokenizer, the task's label names), so every later stage loads it like a downloaded one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from pipeline.errors import InputError
from pipeline.hub import require_hub
from pipeline.params import ModelSpec
from pipeline.tasks import Task

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
MODEL_ALTERNATIVE = "give model.teacher/student.name a local model directory, or `tiny` to build one offline"


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


def label_config(task: Task) -> dict:
    """The config entries that make a checkpoint carry its task's labels in hub order."""
    if task.is_regression:
        return {"num_labels": 1, "problem_type": "regression"}
    return {
        "num_labels": task.num_labels,
        "id2label": dict(enumerate(task.labels)),
        "label2id": {label: i for i, label in enumerate(task.labels)},
        "problem_type": "single_label_classification",
    }


def build_tiny_model(spec: ModelSpec, *, vocab_size: int, task: Task, seed: int):
    """A randomly initialised BERT classifier of the shape `spec` gives."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=spec.hidden,
        num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads,
        intermediate_size=spec.intermediate,
        **label_config(task),
    )
    torch.manual_seed(seed)
    return BertForSequenceClassification(config)


def keep_first_layers(model, n_layers: int, name: str):
    """Cut the encoder of `model` to its first `n_layers` layers (BERT-like models)."""
    encoder = getattr(model.base_model, "encoder", None)
    layers = getattr(encoder, "layer", None)
    if layers is None:
        raise InputError(f"model {name!r}: keep_layers needs a BERT-like encoder (encoder.layer); this model has none")
    if n_layers > len(layers):
        raise InputError(f"model {name!r}: keep_layers={n_layers} but the checkpoint has {len(layers)} layers")
    encoder.layer = layers[:n_layers]
    model.config.num_hidden_layers = n_layers
    return model


def load_checkpoint(spec: ModelSpec, *, task: Task, timeout_s: float):
    """(model, tokenizer) for a hub id or a local directory, with the task's label head."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    local = Path(spec.name).is_dir()
    if not local:
        require_hub(spec.name, repo_type="model", timeout_s=timeout_s, alternative=MODEL_ALTERNATIVE)
    try:
        tokenizer = AutoTokenizer.from_pretrained(spec.name)
        # A checkpoint fine-tuned on another label set gets a new head rather than an error.
        model = AutoModelForSequenceClassification.from_pretrained(
            spec.name, ignore_mismatched_sizes=True, **label_config(task)
        )
    except (OSError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(f"model {spec.name!r}: cannot be loaded as a sequence classifier ({first_line})") from None
    if spec.keep_layers is not None:
        keep_first_layers(model, spec.keep_layers, spec.name)
    return model, tokenizer


def zero_classifier(model) -> None:
    """`init_classifier_to_zero`: the classification head starts at zero (ProKT, LGTM)."""
    import torch

    with torch.no_grad():
        for parameter in model.classifier.parameters():
            parameter.zero_()


def load_task_model(directory: str | Path, task: Task):
    """A saved sequence classifier (a pipeline output or any checkpoint) that fits `task`."""
    from transformers import AutoModelForSequenceClassification

    directory = Path(directory)
    if not (directory / "config.json").is_file():
        raise InputError(f"{directory}: not a model directory (no config.json)")
    try:
        model = AutoModelForSequenceClassification.from_pretrained(directory)
    except (OSError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(f"{directory}: cannot be loaded as a sequence classifier ({first_line})") from None
    if model.config.num_labels != task.num_labels:
        raise InputError(
            f"{directory}: the model has {model.config.num_labels} outputs; task {task.name} needs {task.num_labels}"
        )
    return model


def load_tokenizer(directory: str | Path):
    """The tokenizer saved with a checkpoint."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(directory)
    except (OSError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(f"{directory}: no usable tokenizer saved with the model ({first_line})") from None


def same_vocabulary(tokenizer_a, tokenizer_b) -> bool:
    return tokenizer_a.get_vocab() == tokenizer_b.get_vocab()
