"""Models and tokenizers from the hub, a local directory, or a pipeline output.

Every checkpoint is loaded as a sequence classifier with its task's labels in hub order, so
that every later stage reads a model the same way, whatever its source.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import InputError
from pipeline.glue.tasks import Task
from pipeline.hub import require_model
from pipeline.models.packaged import resolve_model_name

if TYPE_CHECKING:
    from pipeline.settings.params import ModelSpec



def _first_line(error: Exception) -> str:
    """The gist of a library's (often multi-line) error, for a one-line message."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


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
    """(model, tokenizer) for a hub id, a local directory or an installed package's checkpoint
    (`package:NAME`), with the task's label head."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    name = resolve_model_name(spec.name)
    require_model(name, timeout_s=timeout_s)
    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
        if spec.pooling == "mean":
            model = _load_mean_pooled(spec, name, task)
        else:
            # A checkpoint fine-tuned on another label set gets a new head rather than an error.
            model = AutoModelForSequenceClassification.from_pretrained(name, ignore_mismatched_sizes=True,
                                                                       **label_config(task))
    except (OSError, ValueError) as error:
        raise InputError(f"model {spec.name!r}: cannot be loaded as a sequence classifier ({_first_line(error)})") from None
    if spec.keep_layers is not None:
        keep_first_layers(model, spec.keep_layers, spec.name)
    return model, tokenizer


def _load_mean_pooled(spec: ModelSpec, name: str, task: Task):
    """A BERT checkpoint's encoder under the mean-pooled head (its pooler left out)."""
    from transformers import AutoConfig

    from pipeline.models.mean_pooled import MODEL_TYPE, MeanPooledBertForSequenceClassification, mean_pooled_config, register

    register()
    config = AutoConfig.from_pretrained(name)
    if config.model_type not in ("bert", MODEL_TYPE):
        raise InputError(f"model {spec.name!r}: pooling: mean needs a BERT checkpoint; this one is a "
                         f"{config.model_type!r}")
    return MeanPooledBertForSequenceClassification.from_pretrained(
        name, config=mean_pooled_config(config, **label_config(task)), ignore_mismatched_sizes=True)


def zero_classifier(model) -> None:
    """`init_classifier_to_zero`: the classification head starts at zero (ProKT, LGTM)."""
    import torch

    with torch.no_grad():
        for parameter in model.classifier.parameters():
            parameter.zero_()


def load_task_model(directory: str | Path, task: Task):
    """A saved sequence classifier (a pipeline output or any checkpoint) that fits `task`."""
    from transformers import AutoModelForSequenceClassification

    from pipeline.models.mean_pooled import register

    register()
    directory = Path(directory)
    if not (directory / "config.json").is_file():
        raise InputError(f"{directory}: not a model directory (no config.json)")
    try:
        model = AutoModelForSequenceClassification.from_pretrained(directory)
    except (OSError, ValueError) as error:
        raise InputError(f"{directory}: cannot be loaded as a sequence classifier ({_first_line(error)})") from None
    if model.config.num_labels != task.num_labels:
        raise InputError(
            f"{directory}: the model has {model.config.num_labels} outputs; task {task.name} needs {task.num_labels}"
        )
    return model


def import_model_code(directory: str | Path) -> None:
    """Import the code of the checkpoint's model and tokenizer classes (transformers imports a
    model type's modules on first use, 2 to 3 s for BERT): done once in a stage's process
    before its runs fork, instead of once in each run."""
    from transformers import AutoConfig
    from transformers.models.auto.modeling_auto import MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING

    from pipeline.models.mean_pooled import register

    register()
    directory = Path(directory)
    if (directory / "config.json").is_file():
        MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING[type(AutoConfig.from_pretrained(directory))]
        load_tokenizer(directory)


def load_tokenizer(directory: str | Path):
    """The tokenizer saved with a checkpoint."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(directory)
    except (OSError, ValueError) as error:
        raise InputError(f"{directory}: no usable tokenizer saved with the model ({_first_line(error)})") from None


def same_vocabulary(tokenizer_a, tokenizer_b) -> bool:
    return tokenizer_a.get_vocab() == tokenizer_b.get_vocab()
