"""The DAG as users drive it: `dvc repro`, a no-op repro, knobs that rerun exactly their
stages, and `dvc exp run -S` through the hydra composition. Runs in a scratch copy of the repo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import REPO

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def sh(*args: str, cwd: Path) -> str:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(REPO)}
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def edit_params(repo: Path, edit) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    edit(params)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def changed_stages(repo: Path) -> set[str]:
    return set(json.loads(sh("dvc", "status", "--json", cwd=repo)))


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A git+DVC copy of the tracked project files, with two small tasks to keep it quick."""
    root = tmp_path_factory.mktemp("repo")
    tracked = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True).stdout.split()
    for name in tracked:
        if name == "dvc.lock" or not (REPO / name).is_file():
            continue
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, root / name)

    def small(params):
        params["tasks"] = ["rte", "sst2"]
        params["data"]["tasks"] = ["rte", "sst2", "ax"]
        params["data"]["synthetic"].update(train_rows=200, dev_rows=40, test_rows=40)

    edit_params(root, small)
    sh("git", "init", "-q", cwd=root)
    sh("git", "-c", "user.email=t@t", "-c", "user.name=t", "add", "-A", cwd=root)
    sh("git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init", cwd=root)
    return root


def test_repro_runs_every_data_stage_then_is_a_no_op(repo):
    sh("dvc", "repro", cwd=repo)
    for task in ("rte", "sst2", "ax"):
        assert (repo / "data/glue" / task / "report.json").is_file()
    for task in ("rte", "sst2"):
        assert (repo / "data/tokenized" / task / "dataset_dict.json").is_file()
        assert (repo / "models" / task / "pretrained/student/config.json").is_file()
    assert "Data and pipelines are up to date." in sh("dvc", "repro", cwd=repo)
    assert changed_stages(repo) == set()


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda p: p["data"].update(max_seq_length=32), {"tokenize@rte", "tokenize@sst2"}),
        (lambda p: p["model"]["student"].update(layers=1), {"pretrained@rte", "pretrained@sst2"}),
        (lambda p: p["data"]["synthetic"].update(label_noise=0.1), {"download@rte", "download@sst2", "download@ax"}),
        (lambda p: p["train"].update(learning_rate=5e-5), set()),
    ],
)
def test_a_knob_invalidates_exactly_the_stages_that_read_it(repo, edit, expected):
    original = (repo / "params.yaml").read_text()
    try:
        edit_params(repo, edit)
        assert changed_stages(repo) == expected
    finally:
        (repo / "params.yaml").write_text(original)


def test_exp_run_set_param_composes_params_through_hydra(repo):
    # The scratch params.yaml narrowed the tasks by hand; hydra composes from conf/, so narrow there.
    preset = repo / "conf/preset/demo.yaml"
    text = preset.read_text()
    text = text.replace("tasks: [mnli, qqp, qnli, sst2, mrpc, rte]", "tasks: [rte, sst2]")
    text = text.replace("tasks: [cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte, wnli, ax]", "tasks: [rte, sst2, ax]")
    text = text.replace("train_rows: 2000", "train_rows: 200").replace("dev_rows: 400", "dev_rows: 40").replace("test_rows: 400", "test_rows: 40")
    preset.write_text(text)
    sh("git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qam", "small preset", cwd=repo)
    sh("dvc", "exp", "run", "-S", "train.learning_rate=5e-5", "-n", "lr5", cwd=repo)
    shown = json.loads(sh("dvc", "exp", "show", "--json", cwd=repo))
    experiments = [exp for commit in shown for exp in (commit.get("experiments") or [])]
    runs = [run for exp in experiments for run in exp["revs"] if run.get("name") == "lr5"]
    assert runs, shown
    params = runs[0]["data"]["params"]["params.yaml"]["data"]
    assert params["train"]["learning_rate"] == 5e-5
    assert params["preset"] == "demo" and params["tasks"] == ["rte", "sst2"]
