"""The hub paths, up to the network boundary: an unreachable hub fails fast and says what to do."""

from __future__ import annotations

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
