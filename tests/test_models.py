"""Tiny models and checkpoints are saved as ordinary model directories."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from pipeline.errors import InputError
from pipeline.glue.tasks import TASKS
from pipeline.models.loading import keep_first_layers, load_checkpoint
from pipeline.models.pretraining import pretrain_masked_lm
from pipeline.models.starting import starting_models
from pipeline.models.tiny import train_wordpiece_tokenizer
from pipeline.settings.params import ModelParams, ModelSpec, TinyPretrainingParams

TEXTS = ["the dog found the ball in the park .", "a cat was brilliant and lovely .", "why did the pilot move the car ?"] * 20
PAIRS = [(text, "the cat slept .") for text in TEXTS]
TINY = {"name": "tiny", "layers": 2, "hidden": 32, "heads": 2, "intermediate": 64}


def tiny_models(tasks=("mnli",), seed=0, pretraining_steps=0):
    """{task: (teacher, student, tokenizer)} of tiny models."""
    models = ModelParams(
        teacher=ModelSpec(**TINY), student=ModelSpec(**{**TINY, "layers": 1}), tiny_vocab_size=200,
        tiny_pretraining=TinyPretrainingParams(steps=pretraining_steps, batch_size=8, learning_rate=5e-3),
    )
    built = starting_models(models, tasks=[TASKS[task] for task in tasks], train_examples=lambda: iter(PAIRS),
                            max_seq_length=32, seed=seed, timeout_s=1)
    return {task.name: rest for task, *rest in built}


def tiny_pair(task="mnli", seed=0, pretraining_steps=0):
    return tiny_models((task,), seed, pretraining_steps)[task]


def test_wordpiece_tokenizer_is_learnt_and_deterministic():
    first, second = train_wordpiece_tokenizer(TEXTS, 200), train_wordpiece_tokenizer(TEXTS, 200)
    assert first.get_vocab() == second.get_vocab()
    encoded = first("the dog found the ball", "a cat")
    assert first.convert_ids_to_tokens(encoded["input_ids"])[:3] == ["[CLS]", "the", "dog"]
    assert "[UNK]" not in first.convert_ids_to_tokens(encoded["input_ids"])
    unseen = first.convert_ids_to_tokens(first("barn")["input_ids"])  # spelled with seen characters
    assert unseen[1:-1] == ["b", "##a", "##r", "##n"]


def test_vocabulary_keeps_the_most_frequent_words_within_its_size():
    tokenizer = train_wordpiece_tokenizer(["b b b a a c"], vocab_size=5 + 6 + 2)
    assert set(tokenizer.get_vocab()) == {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b", "c", "##a", "##b", "##c"}
    words = train_wordpiece_tokenizer(["dog dog dog cat cat cow"], vocab_size=5 + 2 * 7 + 2).get_vocab()
    assert {"dog", "cat"} <= set(words) and "cow" not in words


def test_tiny_pair_saves_and_reloads_as_a_normal_model_directory(tmp_path):
    teacher, student, tokenizer = tiny_pair()
    teacher.save_pretrained(tmp_path / "teacher")
    tokenizer.save_pretrained(tmp_path / "teacher")
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path / "teacher")
    assert reloaded.config.id2label == {0: "entailment", 1: "neutral", 2: "contradiction"}
    assert reloaded.config.num_hidden_layers == 2 and student.config.num_hidden_layers == 1
    assert AutoTokenizer.from_pretrained(tmp_path / "teacher").get_vocab() == tokenizer.get_vocab()
    for name, tensor in teacher.state_dict().items():
        assert torch.equal(tensor, reloaded.state_dict()[name]), name


def test_tiny_models_are_seeded():
    a, b = tiny_pair(seed=5)[0], tiny_pair(seed=5)[0]
    c = tiny_pair(seed=6)[0]
    weight = "bert.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(a.state_dict()[weight], b.state_dict()[weight])
    assert not torch.equal(a.state_dict()[weight], c.state_dict()[weight])


def test_regression_task_has_one_output():
    teacher, _, _ = tiny_pair("stsb")
    assert teacher.config.num_labels == 1 and teacher.config.problem_type == "regression"


def test_student_cut_from_a_local_checkpoint(tmp_path):
    teacher, _, tokenizer = tiny_pair()
    teacher.save_pretrained(tmp_path / "ckpt")
    tokenizer.save_pretrained(tmp_path / "ckpt")
    student, _ = load_checkpoint(ModelSpec(name=str(tmp_path / "ckpt"), keep_layers=1), task=TASKS["mnli"], timeout_s=1)
    assert len(student.bert.encoder.layer) == 1 and student.config.num_hidden_layers == 1
    kept = "bert.encoder.layer.0.output.dense.weight"
    assert torch.equal(student.state_dict()[kept], teacher.state_dict()[kept])
    with pytest.raises(InputError, match="keep_layers=5 but the checkpoint has 2 layers"):
        keep_first_layers(teacher, 5, "ckpt")


def test_directory_that_is_not_a_model_is_a_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(InputError, match=rf"{tmp_path}: not a model directory: no config.json, no weights"):
        load_checkpoint(ModelSpec(name=str(tmp_path)), task=TASKS["rte"], timeout_s=1)


def test_a_model_directory_transformers_cannot_load_is_a_clear_error(tmp_path):
    # Every file is there, but the config names no architecture transformers knows.
    (tmp_path / "config.json").write_text('{"model_type": "no-such-architecture"}')
    (tmp_path / "model.safetensors").write_bytes(b"")
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n")
    with pytest.raises(InputError, match=rf"model '{tmp_path}': cannot be loaded as a sequence classifier"):
        load_checkpoint(ModelSpec(name=str(tmp_path)), task=TASKS["rte"], timeout_s=1)


def test_masked_lm_pretraining_trains_the_encoder_only():
    model, _, tokenizer = tiny_pair()
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    losses = pretrain_masked_lm(model, tokenizer, PAIRS, steps=32, batch_size=8, learning_rate=5e-3, max_length=32, seed=0)
    assert len(losses) == 32  # 60 pairs in batches of 8: four passes
    assert sum(losses[-8:]) < 0.7 * sum(losses[:8])  # it learns the (very repetitive) text
    after = model.state_dict()
    for name, tensor in before.items():
        unchanged = torch.equal(tensor, after[name])
        assert unchanged == name.startswith(("classifier.", "bert.pooler.")), name


def test_every_task_starts_from_one_pretrained_encoder_under_a_head_of_its_own():
    built = tiny_models(("mnli", "rte", "stsb"), pretraining_steps=4)
    encoders = {task: teacher.bert.state_dict() for task, (teacher, _, _) in built.items()}
    assert all(torch.equal(encoders["mnli"][name], encoders[task][name]) for task in ("rte", "stsb")
               for name in encoders["mnli"])
    assert [built[task][0].config.num_labels for task in ("mnli", "rte", "stsb")] == [3, 2, 1]
    assert built["rte"][2] is built["mnli"][2]  # one tokenizer


def test_starting_models_pretrain_tiny_models_reproducibly():
    first, second = tiny_pair(pretraining_steps=8)[0], tiny_pair(pretraining_steps=8)[0]
    plain = tiny_pair(pretraining_steps=0)[0]
    weight = "bert.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(first.state_dict()[weight], second.state_dict()[weight])
    assert not torch.equal(first.state_dict()[weight], plain.state_dict()[weight])
