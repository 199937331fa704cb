"""Never lose a run: a training stage killed by a real signal resumes from its last checkpoint
and ends bit for bit where an uninterrupted run ends; the same seed gives the same run twice;
a diverged run stops with the step and keeps its last good checkpoint."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import REPO, run_stage, stage_test_params

pytestmark = pytest.mark.slow


def set_params(cwd: Path, edit) -> None:
    params = yaml.safe_load((cwd / "params.yaml").read_text())
    edit(params)
    (cwd / "params.yaml").write_text(yaml.safe_dump(params))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """RTE downloaded, its models built and tokenized; LGTM checkpoints every 4 of 72 steps."""
    cwd = tmp_path_factory.mktemp("prepared")
    params = stage_test_params()
    params.update(tasks=["rte"])
    params["data"]["tasks"] = ["rte"]  # the tiny vocabulary and pre-training text: RTE's alone
    params["data"]["synthetic"].update(train_rows=192, dev_rows=40, test_rows=20)
    params["train"].update(epochs=6, batch_size=16, eval_steps=5)
    params["launch"].update(checkpoint_steps=4)
    params["lgtm"].update(influence_every=None)  # LGTM's influence rows at each evaluation
    (cwd / "params.yaml").write_text(yaml.safe_dump(params))
    for stage in ("download", "pretrained", "tokenize"):
        result = run_stage(stage, "--task", "rte", cwd=cwd)
        assert result.returncode == 0, result.stderr[-2000:]
    return cwd


def copy_of(prepared: Path, tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(prepared, target)
    return target


def run_files(cwd: Path, method: str = "lgtm", extra: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every file a training run writes, by path (and those under `extra`)."""
    files = {}
    for root in (f"runs/{method}/rte", f"live/{method}/rte", *extra):
        for path in sorted((cwd / root).rglob("*")):
            if path.is_file():
                files[str(path.relative_to(cwd))] = path.read_bytes()
    return files


STAGE_OF = {"lgtm": ("train", "--method", "lgtm"), "kd": ("distill", "--method", "kd"),
            "finetune-teacher": ("finetune-teacher",)}


def train(cwd: Path, method: str = "lgtm") -> subprocess.CompletedProcess:
    result = run_stage(*STAGE_OF[method], "--task", "rte", cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def checkpoint_step(progress: Path) -> int:
    try:
        return json.loads(progress.read_text())["step"]
    except (FileNotFoundError, ValueError):
        return -1


def kill_after_first_checkpoint(cwd: Path, method: str = "lgtm", min_step: int = 0) -> int:
    """Start the run, SIGKILL it once a checkpoint of at least `min_step` exists, return that
    checkpoint's step."""
    process = subprocess.Popen([sys.executable, "-m", "stages", *STAGE_OF[method], "--task", "rte"], cwd=cwd,
                               env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    progress = cwd / f"checkpoints/{method}/rte/latest/progress.json"
    deadline = time.monotonic() + 120
    while checkpoint_step(progress) < max(min_step, 1):
        assert process.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.005)
    time.sleep(0.3)  # a few steps past the checkpoint, maybe into the next one
    assert process.poll() is None, "the run ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    return yaml.safe_load(progress.read_text())["step"]


@pytest.fixture(scope="module")
def uninterrupted(prepared, tmp_path_factory) -> dict[str, bytes]:
    """The files of an LGTM run that nothing interrupted."""
    cwd = copy_of(prepared, tmp_path_factory.mktemp("uninterrupted"), "run")
    train(cwd)
    assert not (cwd / "checkpoints/lgtm/rte/latest").exists()  # a finished run keeps nothing to resume
    return run_files(cwd)


def test_killed_run_resumes_and_ends_bit_for_bit_like_an_uninterrupted_one(prepared, uninterrupted, tmp_path):
    """LGTM's influence rows too: logged at each evaluation (every 5 steps), the checkpoint of
    step 8 or later carries those of step 5, and the rows after it are logged again."""
    import pyarrow.parquet as pq

    killed = copy_of(prepared, tmp_path, "killed")
    step = kill_after_first_checkpoint(killed, min_step=8)
    assert 8 <= step < 72 and step % 4 == 0
    assert not (killed / "runs/lgtm/rte").exists() and not (killed / "live/lgtm/rte").exists()
    carried = pq.read_table(killed / "checkpoints/lgtm/rte/latest/samples/influence.parquet").column("step")
    assert sorted(set(carried.to_pylist())) == list(range(5, step + 1, 5))
    resumed = train(killed)
    assert f"resuming from the checkpoint of step {step}" in resumed.stderr
    assert run_files(killed) == uninterrupted
    rows = pq.read_table(killed / "runs/lgtm/rte/influence.parquet")
    assert sorted(set(rows.column("step").to_pylist())) == [*range(5, 71, 5), 72] and rows.num_rows == 15 * 16
    assert not list((killed / "runs/lgtm").glob(".rte.tmp-*"))  # the killed run's leftovers are gone


def test_a_kd_checkpoint_leaves_out_the_frozen_teacher_and_resumes_bit_for_bit(prepared, tmp_path):
    """The frozen teacher is reloaded from its own run: a checkpoint holds the student alone."""
    with_teacher = copy_of(prepared, tmp_path, "with-teacher")
    result = run_stage("finetune-teacher", "--task", "rte", cwd=with_teacher)
    assert result.returncode == 0, result.stderr[-3000:]
    uninterrupted = copy_of(with_teacher, tmp_path, "kd-uninterrupted")
    train(uninterrupted, "kd")
    step = kill_after_first_checkpoint(with_teacher, "kd")
    state = with_teacher / "checkpoints/kd/rte/latest/state"
    assert sorted(p.name for p in state.glob("model*")) == ["model.safetensors"]
    resumed = train(with_teacher, "kd")
    assert f"resuming from the checkpoint of step {step}" in resumed.stderr
    assert run_files(with_teacher, "kd") == run_files(uninterrupted, "kd")


def test_a_killed_teacher_run_resumes_with_the_anchors_it_had_saved(prepared, tmp_path):
    """RCO's anchors (runs/teacher-anchors) are saved along finetune-teacher's run; one saved
    before the kill comes back from the checkpoint, and the run ends with the same bytes."""
    anchors = ("runs/teacher-anchors/rte",)
    uninterrupted = copy_of(prepared, tmp_path, "teacher-uninterrupted")
    train(uninterrupted, "finetune-teacher")
    expected = run_files(uninterrupted, "finetune-teacher", anchors)
    assert sorted({path.split("/")[3] for path in expected if path.startswith(anchors[0])}) == [
        "anchor-1", "anchor-2", "anchor-3", "anchor-4"]  # rco.anchors, at steps 18, 36, 54 and 72 of 72
    killed = copy_of(prepared, tmp_path, "teacher-killed")
    step = kill_after_first_checkpoint(killed, "finetune-teacher", min_step=20)
    assert 20 <= step < 72
    assert (killed / "checkpoints/finetune-teacher/rte/latest/anchors/anchor-1/model.safetensors").is_file()
    resumed = train(killed, "finetune-teacher")
    assert f"resuming from the checkpoint of step {step}" in resumed.stderr
    assert run_files(killed, "finetune-teacher", anchors) == expected


def test_same_params_and_seed_give_identical_runs(prepared, uninterrupted, tmp_path):
    again = copy_of(prepared, tmp_path, "again")
    train(again)
    assert run_files(again) == uninterrupted


def test_a_checkpoint_of_other_params_is_not_resumed(prepared, tmp_path):
    cwd = copy_of(prepared, tmp_path, "changed")
    kill_after_first_checkpoint(cwd)
    set_params(cwd, lambda p: p["train"].update(learning_rate=1e-3))
    result = train(cwd)
    assert "resuming" not in result.stderr and "written for other params or inputs; starting afresh" in result.stderr


def test_nan_loss_stops_the_stage_with_the_step(prepared, tmp_path):
    cwd = copy_of(prepared, tmp_path, "nan")
    # Logits divided by a temperature of 1e-45 overflow: the soft-label loss is NaN at once.
    set_params(cwd, lambda p: p["lgtm"].update(temperature=1e-45, init_classifier_to_zero=False))
    result = run_stage("train", "--method", "lgtm", "--task", "rte", cwd=cwd)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == \
        "error: teacher_loss is nan at step 1; no checkpoint was written yet; lower the learning rate or check the data"
    assert not (cwd / "runs/lgtm/rte").exists()


def test_nan_loss_keeps_the_last_good_checkpoint(prepared, monkeypatch):
    """In process, with a method whose student turns NaN at its sixth step."""
    from pipeline.errors import TrainingDiverged
    from pipeline.glue.tasks import get_task
    from pipeline.methods.finetune import Finetune
    from pipeline.methods.registry import STEPS
    from pipeline.settings.params import load_params
    from pipeline.settings.runs import run_spec
    from pipeline.training.run import RunPaths, train_run
    from stages.paths import run_layout

    class BreaksAtStepSix(Finetune):
        steps = 0

        def step(self, ctx, batch, held_batch):
            BreaksAtStepSix.steps += 1
            if BreaksAtStepSix.steps == 6:
                for parameter in ctx.student.classifier.parameters():
                    parameter.data.fill_(math.nan)
            return super().step(ctx, batch, held_batch)

    monkeypatch.setitem(STEPS, "finetune", BreaksAtStepSix)
    monkeypatch.chdir(prepared)
    paths = RunPaths(**{**run_layout("finetune", "rte"), "run": Path("runs/breaks/rte"), "live": Path("live/breaks/rte"),
                        "checkpoints": Path("checkpoints/breaks/rte")})
    with pytest.raises(TrainingDiverged, match=r"student_loss is nan at step 6; the checkpoint of step 4 is kept in "
                                               r"checkpoints/breaks/rte/latest"):
        params = load_params("params.yaml")
        train_run(params, get_task("rte"), run_spec(params, "finetune"), paths)
    assert yaml.safe_load((prepared / "checkpoints/breaks/rte/latest/progress.json").read_text())["step"] == 4
    assert not (prepared / "runs/breaks/rte").exists()


def test_a_finished_run_is_copied_not_trained_again_while_nothing_it_reads_changes(prepared, uninterrupted, tmp_path):
    """A stage trains every task: adding a task must not retrain the others. DVC removes the
    stage's outputs before it runs; the finished run kept in checkpoints/ comes back."""
    cwd = copy_of(prepared, tmp_path, "reused")
    train(cwd)
    for output in ("runs/lgtm", "live/lgtm"):
        shutil.rmtree(cwd / output)
    again = train(cwd)
    assert "the finished run of these params, inputs and code is kept: copied, not trained" in again.stderr
    assert run_files(cwd) == uninterrupted
    set_params(cwd, lambda p: p["lgtm"].update(radius=0.02))
    changed = train(cwd)
    assert "copied, not trained" not in changed.stderr and "steps in" in changed.stderr


def test_clean_removes_a_checkpoint_whose_run_is_finished_in_the_workspace(prepared, uninterrupted, tmp_path):
    """What DVC leaves when it restores a killed run's outputs from its run-cache."""
    cwd = copy_of(prepared, tmp_path, "restored")
    kill_after_first_checkpoint(cwd)
    checkpoint = cwd / "checkpoints/lgtm/rte/latest"
    assert run_stage("clean", cwd=cwd).returncode == 0
    assert checkpoint.exists()  # the run is not finished here: a rerun resumes from it
    for path, data in uninterrupted.items():  # the run-cache restores the finished run
        (cwd / path).parent.mkdir(parents=True, exist_ok=True)
        (cwd / path).write_bytes(data)
    result = run_stage("clean", cwd=cwd)
    assert result.returncode == 0 and "removed checkpoints/lgtm/rte/latest" in result.stderr
    assert not checkpoint.exists()


def test_tasks_trained_side_by_side_end_as_one_after_another(prepared, tmp_path):
    """launch.workers changes no result: each run is one process on one thread."""
    files = {}
    for workers in (1, 2):
        cwd = copy_of(prepared, tmp_path, f"workers-{workers}")
        for stage in ("download", "pretrained", "tokenize"):
            assert run_stage(stage, "--task", "mrpc", cwd=cwd).returncode == 0
        set_params(cwd, lambda p: p["launch"].update(workers=workers, checkpoint_steps=0))
        result = run_stage("finetune-teacher", "--task", "rte", "--task", "mrpc", cwd=cwd)
        assert result.returncode == 0, result.stderr[-3000:]
        files[workers] = {str(p.relative_to(cwd)): p.read_bytes() for p in sorted((cwd / "runs").rglob("*")) if p.is_file()}
    assert files[1] == files[2] and len(files[1]) > 10
