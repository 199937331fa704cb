"""What a user meets when DVC runs the `params` stage on params they got wrong: `dvc repro`
and `dvc exp run -S` in a scratch git+DVC copy of the project, reproduced as far as the
starting models (RTE alone, small). Whatever is refused, the outputs already there stay, byte
for byte, and DVC shows nothing changed but the check."""

from __future__ import annotations

import shutil
import sys
from functools import partial
from pathlib import Path

import pytest
import scratch_project as scratch
from conftest import QUICK_PRETRAINING_STEPS
from scratch_project import changed_stages, edit_params, every_byte, git

pytestmark = pytest.mark.slow
# A closed port: a hub probe fails at once, whatever the machine's network.
ENV = scratch.environment(HF_ENDPOINT="http://127.0.0.1:9", HF_HUB_OFFLINE=None)
run = partial(scratch.run, env=ENV)
ok = partial(scratch.sh, env=ENV)


def narrowed(preset: dict) -> None:
    preset.update(tasks=["rte"])
    preset["data"].update(tasks=["rte"])
    preset["data"]["synthetic"].update(train_rows=100, dev_rows=20, test_rows=20)
    preset["model"]["tiny_pretraining"]["steps"] = QUICK_PRETRAINING_STEPS


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """The tracked project files, narrowed to RTE, reproduced up to the starting models and
    committed, as after a first `dvc repro`."""
    root = scratch.scratch_project(tmp_path_factory.mktemp("journeys"), narrowed)
    ok("dvc", "repro", "pretrained", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "reproduced up to the starting models", cwd=root)
    return root


@pytest.fixture
def params_restored(repo):
    """params.yaml back to its committed state after the test, whatever it did."""
    yield repo
    git("checkout", "--", "params.yaml", cwd=repo)


def test_a_folder_that_is_not_a_model_is_refused_before_dvc_removes_the_models(params_restored):
    repo = params_restored
    # What a finished run leaves: its model one level down, summaries beside it.
    run_dir = repo / "runs/lgtm/rte"
    shutil.copytree(repo / "models/rte/student", run_dir / "model")
    (run_dir / "summary.json").write_text("{}")
    before = every_byte(repo, "models", "data")
    try:
        edit_params(repo, lambda p: p["model"]["student"].update(name="runs/lgtm/rte"))
        result = run("dvc", "repro", cwd=repo)
    finally:
        shutil.rmtree(repo / "runs")
    assert result.returncode != 0
    assert ("error: model.student.name: runs/lgtm/rte: not a model directory: no config.json, no weights "
            "(model.safetensors or pytorch_model.bin), no tokenizer (tokenizer.json, or a vocabulary such as vocab.txt); "
            "runs/lgtm/rte/model is one") in result.stderr.splitlines()
    assert result.stdout.count("Running stage") == 1
    assert every_byte(repo, "models", "data") == before


def test_a_refused_change_leaves_every_other_stage_as_it_was(params_restored):
    repo = params_restored
    before = changed_stages(repo)  # the stages this copy never ran
    assert {"params", "download", "pretrained"}.isdisjoint(before)
    edit_params(repo, lambda p: p["launch"].update(checkpoint_step=5))  # a key no stage reads
    result = run("dvc", "repro", cwd=repo)
    assert result.returncode != 0 and "launch.checkpoint_step: unknown key" in result.stderr
    assert changed_stages(repo) == before | {"params"}
    git("checkout", "--", "params.yaml", cwd=repo)
    assert changed_stages(repo) == before


def test_check_gives_the_params_stage_s_message_for_an_exp_run_override_and_writes_nothing(params_restored):
    repo = params_restored
    before = every_byte(repo, "models", "data") | {"params.yaml": (repo / "params.yaml").read_bytes()}
    checked = run(sys.executable, "-m", "stages", "check", "-S", "train.learnig_rate=0.001", cwd=repo)
    assert checked.returncode == 2
    assert every_byte(repo, "models", "data") | {"params.yaml": (repo / "params.yaml").read_bytes()} == before
    # DVC itself stops at Hydra's words for the key without `+`, and with `+` writes the key
    # into params.yaml, where the params stage refuses it with the words `check` gave.
    assert "Could not override 'train.learnig_rate'" in run("dvc", "exp", "run", "-S", "train.learnig_rate=0.001",
                                                              cwd=repo).stderr
    refused = run("dvc", "exp", "run", "-S", "+train.learnig_rate=0.001", cwd=repo)
    assert refused.returncode != 0
    stage_says = [line for line in refused.stderr.splitlines() if line.startswith("error: ")]
    assert stage_says == checked.stderr.splitlines() == [
        "error: params.yaml: train.learnig_rate: unknown key; allowed keys: batch_size, eval_batch_size, "
        "learning_rate, teacher_learning_rate, epochs, warmup_ratio, optimizer, weight_decay, adam_beta1, adam_beta2, "
        "adam_epsilon, eval_steps, mixed_precision"]
    # The refused override stays in params.yaml; checking it out gets back to where it was.
    assert "learnig_rate: 0.001" in (repo / "params.yaml").read_text()
    git("checkout", "--", "params.yaml", cwd=repo)
    assert every_byte(repo, "models", "data") | {"params.yaml": (repo / "params.yaml").read_bytes()} == before
    assert {"params", "download", "pretrained"}.isdisjoint(changed_stages(repo))


def test_check_passes_a_model_directory_that_the_stage_would_pass(repo):
    result = run(sys.executable, "-m", "stages", "check", "-S", "model.student.name=models/rte/student", "-S", "seed=3",
                 cwd=repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("params.yaml with -S model.student.name=models/rte/student -S seed=3: valid")
