"""The hub paths, up to the network boundary: an unreachable hub fails fast and says what to do."""

from __future__ import annotations

import re
import socket
import threading
import time

import pytest

from pipeline.errors import InputError
from pipeline.glue.from_hub import hub_examples, read_hub_task
from pipeline.glue.tasks import TASKS
from pipeline.models.loading import load_checkpoint
from pipeline.settings.params import ModelSpec


@pytest.fixture
def silent_hub(monkeypatch):
    """A hub endpoint that accepts connections and never answers: the case that hangs clients."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    yield
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


def test_silent_hub_fails_within_the_timeout_naming_the_dir_alternative(silent_hub):
    start = time.monotonic()
    with pytest.raises(InputError, match=r"unreachable within 2s .*-S data.source=dir -S data.glue_dir=PATH"):
        list(read_hub_task(TASKS["rte"], timeout_s=2))
    assert time.monotonic() - start < 30


def test_refused_hub_fails_fast(monkeypatch):
    with socket.socket() as probe:  # a port with nothing listening: connection refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    start = time.monotonic()
    with pytest.raises(InputError, match="unreachable"):
        list(read_hub_task(TASKS["mnli"], timeout_s=10))
    assert time.monotonic() - start < 10


def test_unreachable_model_hub_names_the_offline_alternatives(silent_hub):
    with pytest.raises(InputError, match=r"model 'bert-base-uncased'.*a local model directory .*model.teacher.name=PATH.*, or `tiny`"):
        load_checkpoint(ModelSpec(name="bert-base-uncased"), task=TASKS["rte"], timeout_s=2)


def test_hub_rows_are_normalised_with_hub_label_order():
    rows = [
        {"premise": "A man sleeps.", "hypothesis": "A person rests.", "label": 0, "idx": 0},
        {"premise": "A man sleeps.", "hypothesis": "A man runs.", "label": 2, "idx": 1},
        {"premise": "Test.", "hypothesis": "Row.", "label": -1, "idx": 9},
    ]
    assert list(hub_examples(rows, TASKS["mnli"])) == [
        {"idx": 0, "text_a": "A man sleeps.", "text_b": "A person rests.", "label": 0},
        {"idx": 1, "text_a": "A man sleeps.", "text_b": "A man runs.", "label": 2},
        {"idx": 9, "text_a": "Test.", "text_b": "Row.", "label": -1},
    ]
    sst2 = list(hub_examples([{"sentence": "fine .", "label": 1, "idx": 0}], TASKS["sst2"]))
    assert sst2 == [{"idx": 0, "text_a": "fine .", "text_b": None, "label": 1}]
    stsb = list(hub_examples([{"sentence1": "a", "sentence2": "b", "label": 3.8, "idx": 0}], TASKS["stsb"]))
    assert stsb[0]["label"] == 3.8


def test_reachable_hub_reads_every_split(monkeypatch):
    """Past the reachability check, load_dataset's splits map onto our split names."""
    import datasets

    monkeypatch.setattr("pipeline.glue.from_hub.require_hub", lambda *a, **k: None)
    row = {"premise": "p", "hypothesis": "h", "label": 1, "idx": 0}
    fake = {name: [row] for name in ("train", "validation_matched", "validation_mismatched", "test_matched", "test_mismatched")}
    calls = []
    monkeypatch.setattr(datasets, "load_dataset", lambda *args: calls.append(args) or fake)
    splits = {split.name: examples for split, examples in read_hub_task(TASKS["mnli"], timeout_s=1)}
    assert calls == [("nyu-mll/glue", "mnli")]
    assert set(splits) == {"train", "dev_matched", "dev_mismatched", "test_matched", "test_mismatched"}


@pytest.fixture
def model_dir(tmp_path):
    """A saved model directory as the pretrained stage writes one: config, weights, tokenizer."""
    from transformers import BertConfig, BertForSequenceClassification

    from pipeline.models.tiny import train_wordpiece_tokenizer

    tokenizer = train_wordpiece_tokenizer(["the cat sat on the mat ."] * 5, vocab_size=60)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32)
    BertForSequenceClassification(config).save_pretrained(tmp_path / "model")
    tokenizer.save_pretrained(tmp_path / "model")
    return tmp_path / "model"


@pytest.mark.parametrize(("removed", "problem"), [
    (("model.safetensors",), "no weights (model.safetensors or pytorch_model.bin)"),
    (("config.json",), "no config.json"),
])
def test_a_model_directory_lacking_a_part_is_refused_where_transformers_would_fail(model_dir, removed, problem):
    """The params check reads only file names (it loads no model library); each part it asks
    for is one that from_pretrained fails without."""
    from transformers import AutoModelForSequenceClassification

    from pipeline.hub import require_model

    require_model(str(model_dir), timeout_s=1, key="model.student.name")
    AutoModelForSequenceClassification.from_pretrained(model_dir)
    for name in removed:
        (model_dir / name).unlink()
    with pytest.raises(InputError, match=rf"^model\.student\.name: {model_dir}: not a model directory: {re.escape(problem)}$"):
        require_model(str(model_dir), timeout_s=1, key="model.student.name")
    with pytest.raises((OSError, ValueError)):
        AutoModelForSequenceClassification.from_pretrained(model_dir)


def test_a_model_directory_without_its_vocabulary_is_refused_where_transformers_builds_an_empty_one(model_dir):
    """Without tokenizer.json, transformers 5 builds, silently, a tokenizer of the special
    tokens alone: every word would be [UNK]."""
    from transformers import AutoTokenizer

    from pipeline.hub import require_model

    assert len(AutoTokenizer.from_pretrained(model_dir)) > 5
    (model_dir / "tokenizer.json").unlink()
    with pytest.raises(InputError, match=r": not a model directory: no tokenizer \(tokenizer\.json, or a vocabulary "
                                         r"such as vocab\.txt\)$"):
        require_model(str(model_dir), timeout_s=1, key="model.student.name")
    assert len(AutoTokenizer.from_pretrained(model_dir)) == 5


@pytest.mark.parametrize(("name", "hub_id"), [
    ("bert-base-uncased", True), ("google/bert_uncased_L-6_H-768_A-12", True),
    ("/nonexistent/dir", False), ("./model", False), ("../model", False), ("runs/lgtm/rte", False), ("~/model", False),
])
def test_a_name_is_a_hub_id_only_in_the_hub_s_form(name, hub_id):
    from pipeline.hub import is_hub_id

    assert is_hub_id(name) == hub_id
