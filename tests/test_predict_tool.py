"""The `predict` tool as people type it: both spellings of the command, and an --out that
already holds something (issue 25: a tool never deletes what it did not write)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml
from conftest import REPO, STARTING_ENVIRON, run_stage, stage_test_params

TOOLS = sorted(path.stem for path in (REPO / "stages/tools").glob("*.py") if path.stem != "__init__")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """RTE's test rows (the synthetic source) and a tiny untrained RTE classifier in `model/`."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    cwd = tmp_path_factory.mktemp("predict")
    params = stage_test_params()
    params["data"]["synthetic"].update(train_rows=40, dev_rows=10, test_rows=12)
    (cwd / "params.yaml").write_text(yaml.safe_dump(params))
    result = run_stage("download", "--task", "rte", cwd=cwd)
    assert result.returncode == 0, result.stderr
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "is", "not", "."]
    tokenizer = BertTokenizer(vocab={word: i for i, word in enumerate(words)})
    config = BertConfig(vocab_size=len(words), hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
                        intermediate_size=8, max_position_embeddings=64, num_labels=2)
    BertForSequenceClassification(config).save_pretrained(cwd / "model")
    tokenizer.save_pretrained(cwd / "model")
    return cwd


def predict(workdir, out, *options: str) -> subprocess.CompletedProcess:
    return run_stage("predict", "--model", "model", "--task", "rte", "--out", str(out), *options, cwd=workdir)


def test_predict_into_a_directory_keeps_its_other_files(workdir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("my notes\n")
    result = predict(workdir, out)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == ["RTE.tsv", "notes.txt"]  # no temporary left either
    assert (out / "notes.txt").read_text() == "my notes\n"
    rows = (out / "RTE.tsv").read_text().splitlines()
    assert rows[0] == "index\tprediction" and len(rows) == 13


def test_a_file_of_the_same_name_is_replaced_only_with_force(workdir, tmp_path):
    (tmp_path / "RTE.tsv").write_text("mine, not a prediction\n")
    refused = predict(workdir, tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        f"error: --out {tmp_path}: RTE.tsv already there; --force replaces it, or give another directory")
    assert (tmp_path / "RTE.tsv").read_text() == "mine, not a prediction\n"
    forced = predict(workdir, tmp_path, "--force")
    assert forced.returncode == 0, forced.stderr[-3000:]
    assert len((tmp_path / "RTE.tsv").read_text().splitlines()) == 13
    assert f"replaced the earlier RTE.tsv in {tmp_path}" in forced.stderr


def test_predict_creates_a_missing_directory(workdir, tmp_path):
    result = predict(workdir, tmp_path / "new" / "out")
    assert result.returncode == 0, result.stderr[-3000:]
    assert [p.name for p in (tmp_path / "new/out").iterdir()] == ["RTE.tsv"]


@pytest.mark.parametrize("under", [False, True])
def test_predict_refuses_an_out_that_is_a_file_and_writes_nothing(workdir, tmp_path, under):
    existing = tmp_path / "results.tsv"
    existing.write_text("keep me\n")
    out = existing / "out" if under else existing
    result = predict(workdir, out)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: --out {out}: {existing} is a file; give a directory to write the prediction files into")
    assert existing.read_text() == "keep me\n"
    assert [p.name for p in tmp_path.iterdir()] == ["results.tsv"]


def test_predict_refuses_a_directory_in_place_of_a_prediction_file(workdir, tmp_path):
    (tmp_path / "RTE.tsv").mkdir()
    (tmp_path / "RTE.tsv/mine.txt").write_text("mine\n")
    result = predict(workdir, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"error: --out {tmp_path}: RTE.tsv is a directory there, not a prediction file"
    assert (tmp_path / "RTE.tsv/mine.txt").read_text() == "mine\n"


def options(help_text: str) -> list[str]:
    """The options a help page lists, in order (a required one is starred)."""
    return re.findall(r"^│\s+(?:\*\s+)?(--[\w-]+)", help_text, re.MULTILINE)


@pytest.mark.parametrize("tool", TOOLS)
def test_a_tool_runs_as_a_module_of_stages_and_as_a_subcommand(tool, tmp_path):
    """`python -m stages.predict` as `python -m stages.download`, and `python -m stages predict`:
    the same help, and nothing written."""
    as_module = subprocess.run([sys.executable, "-m", f"stages.{tool}", "--help"], cwd=tmp_path, capture_output=True,
                               text=True, timeout=120, env={**STARTING_ENVIRON, "PYTHONPATH": str(REPO)})
    as_subcommand = run_stage(tool.replace("_", "-"), "--help", cwd=tmp_path)
    assert as_module.returncode == 0, as_module.stderr[-2000:]
    assert as_subcommand.returncode == 0, as_subcommand.stderr[-2000:]
    assert "--help" in options(as_module.stdout) and options(as_module.stdout) == options(as_subcommand.stdout)
    assert not any(tmp_path.iterdir())


def test_no_tool_is_named_like_a_module_of_stages():
    """stages/tools/ is searched after stages/: a tool named like a stage would be hidden."""
    assert not set(TOOLS) & {path.stem for path in (REPO / "stages").glob("*.py")}
