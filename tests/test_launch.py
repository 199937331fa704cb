"""Training across processes (pipeline/launch.py): the `accelerate launch` command a stage
builds, the launch recorded in summary.json, and, on dropout-free tiny models, every method's
run in 2 processes ending where its run in 1 process ends, up to float32 rounding.

The 2 processes pose as 2 machines on localhost (`--num_machines 2`, one launcher per
"machine", as on a cluster); the same launch on one machine gives the same bytes (the stage
test below checks it for one run). A launch killed with its stage leaves no process behind and
resumes bit for bit.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import REPO, run_stage, stage_test_params
from launched_runs import RUNS
from safetensors.torch import load_file

from pipeline.errors import InputError
from pipeline.glue.tasks import get_task
from pipeline.launch import free_port, inside_launch, launch_command, launches, machines, world_size
from pipeline.results.summary import RunSummary
from pipeline.settings.params import validate_params
from pipeline.settings.runs import run_spec
from pipeline.training.run import RunPaths, run_fingerprint

LAUNCHER = [sys.executable, "-m", "accelerate.commands.launch"]


def test_a_launch_on_cpu_is_torchrun_on_one_machine_at_a_free_port():
    assert launch_command("stages", ["train", "--method", "kd", "--task", "rte"], processes=2, config_file=None,
                          mixed_precision="no", gpus=0, port=29123) == [
        *LAUNCHER, "--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--main_process_ip", "127.0.0.1",
        "--main_process_port", "29123", "--mixed_precision", "no", "--dynamo_backend", "no",
        "-m", "stages", "train", "--method", "kd", "--task", "rte"]


def test_a_launch_on_gpus_takes_one_gpu_per_process():
    command = launch_command("stages", ["finetune-teacher"], processes=3, config_file=None, mixed_precision="bf16",
                             gpus=4, port=29123)
    assert command[command.index("--gpu_ids") + 1] == "0,1,2"
    assert command[command.index("--mixed_precision") + 1] == "bf16"


def test_a_config_file_decides_machines_and_processes():
    assert launch_command("stages", ["train", "--method", "lgtm"], processes=1, config_file="cluster.yaml",
                          mixed_precision="no", gpus=8, port=29123) == [
        *LAUNCHER, "--config_file", "cluster.yaml", "-m", "stages", "train", "--method", "lgtm"]


def test_who_launches_and_how_big_the_launch_is():
    assert not launches(1, None) and launches(2, None) and launches(1, "cluster.yaml")
    assert not inside_launch({}) and inside_launch({"LOCAL_RANK": "0"})
    assert (world_size({}), machines({})) == (1, 1)
    # torchrun's variables: 8 processes, 4 on this machine.
    assert (world_size({"WORLD_SIZE": "8", "LOCAL_WORLD_SIZE": "4"}), machines({"WORLD_SIZE": "8",
                                                                                  "LOCAL_WORLD_SIZE": "4"})) == (8, 2)
    assert 1024 <= free_port() < 65536


def test_a_batch_that_does_not_split_across_the_processes_is_refused(demo_params):
    demo_params["launch"]["processes"] = 3  # the demo's batches are 32 rows
    with pytest.raises(InputError, match=r"^params.yaml: train.batch_size: 32 rows do not split evenly across "
                                         r"launch.processes=3; use a multiple of 3"):
        validate_params(demo_params)
    demo_params["launch"]["processes"] = 4
    assert validate_params(demo_params).launch.processes == 4


def test_a_summary_without_its_launch_reads_as_one_process(tmp_path):
    record = {"method": "kd", "selection_metric": "accuracy", "best_step": 5, "best": {"accuracy": 0.5},
              "teacher_best": None, "teacher_best_step": None, "steps": 10, "last": {"accuracy": 0.5}, "task": "rte",
              "held_out": "dev", "train_examples": 100, "selection_examples": 20}
    (tmp_path / "summary.json").write_text(json.dumps(record))
    assert RunSummary.read(tmp_path / "summary.json").launch == {"processes": 1, "machines": 1,
                                                                 "mixed_precision": None}


def test_the_process_count_is_part_of_a_runs_fingerprint(demo_params, tmp_path):
    params = validate_params(demo_params)
    paths = RunPaths(*(tmp_path / name for name in ("tok", "pre", "ft", "as", "an", "run", "live", "ck")))
    for path in (paths.tokenized, paths.pretrained):
        path.mkdir()
    spec = run_spec(params, "finetune")
    one, two = (run_fingerprint(params, get_task("rte"), spec, paths, processes) for processes in (1, 2))
    assert one != two and one == run_fingerprint(params, get_task("rte"), spec, paths)


# The slow part: every run of one tiny task, in 1 process and in 2.

# Float32 rounding, amplified by Adam: the processes sum their half-batches' gradients in another
# order than one process sums the whole batch (relative differences ~1e-7), and Adam divides each
# coordinate by its own RMS, so coordinates whose gradient is near zero turn those into larger
# differences in their updates. At the authors' Adam epsilon (1e-6, here) the worst run ends
# 1e-5 from its 1-process run (ProKT, in parameters and in logits); at the demo's 1e-8, 2.5e-5.
# The tolerance: 2e-3 of how far a weight can move in the run (learning rate x steps, 2e-3 x 6);
# a batch split wrongly (each process a whole batch, as Accelerate does by default) or a batch
# statistic (DIST's intra-class correlation, at its default weight) moves runs by ~1e-2.
TOLERANCE = 2.5e-5


@pytest.fixture(scope="module")
def launched(tmp_path_factory) -> Path:
    """WORKDIR/one/: every run in 1 process; WORKDIR/two/: every run under one launch of 2
    processes posing as 2 machines (both reading one/'s teacher, assistant and anchors)."""
    cwd = tmp_path_factory.mktemp("launched")
    params = stage_test_params()
    params.update(tasks=["rte"])
    params["data"]["tasks"] = ["rte"]
    params["data"]["synthetic"].update(train_rows=48, dev_rows=16, test_rows=8)
    params["train"].update(batch_size=8, eval_batch_size=8, epochs=1, eval_steps=1000, adam_epsilon=1e-6)
    params["launch"].update(processes=2)
    params["dist"]["gamma"] = 0.0  # its intra-class term is over each process's share (pipeline/distill/dist.py)
    (cwd / "params.yaml").write_text(yaml.safe_dump(params))
    for stage in ("download", "pretrained", "tokenize"):
        result = run_stage(stage, "--task", "rte", cwd=cwd)
        assert result.returncode == 0, result.stderr[-2000:]
    for role in ("teacher", "student"):
        config_path = cwd / "models/rte" / role / "config.json"
        config = json.loads(config_path.read_text())
        config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
        config_path.write_text(json.dumps(config))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    script = [str(REPO / "tests/launched_runs.py"), str(cwd)]
    one = subprocess.run([sys.executable, *script, "one", "one"], capture_output=True, text=True, env=env, timeout=300)
    assert one.returncode == 0, one.stderr[-3000:]
    port = str(free_port())
    machines = [subprocess.Popen([*LAUNCHER, "--multi_gpu", "--num_processes", "2", "--num_machines", "2",
                                  "--machine_rank", str(rank), "--main_process_ip", "127.0.0.1", "--main_process_port",
                                  port, "--mixed_precision", "no", "--dynamo_backend", "no", *script, "two", "one"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
                for rank in (0, 1)]
    for machine in machines:
        _, errors = machine.communicate(timeout=300)
        assert machine.returncode == 0, errors[-3000:]
    return cwd


def run_dir(cwd: Path, into: str, run: str) -> Path:
    return cwd / into / "runs" / run / "rte"


@pytest.mark.slow
@pytest.mark.parametrize("run", RUNS)
def test_a_run_in_two_processes_ends_where_one_process_ends(launched, run):
    one, two = run_dir(launched, "one", run), run_dir(launched, "two", run)
    assert RunSummary.read(two / "summary.json").launch == {"processes": 2, "machines": 2, "mixed_precision": "no"}
    assert RunSummary.read(one / "summary.json").launch == {"processes": 1, "machines": 1, "mixed_precision": "no"}
    expected, got = load_file(one / "model/model.safetensors"), load_file(two / "model/model.safetensors")
    assert expected.keys() == got.keys()
    worst = max((expected[k] - got[k]).abs().max().item() for k in expected)
    assert worst <= TOLERANCE, f"{run}: a weight is {worst:.2e} from the 1-process run's"
    for split in ("dev", "test"):
        np.testing.assert_allclose(np.load(two / f"outputs/{split}.logits.npy"),
                                   np.load(one / f"outputs/{split}.logits.npy"), rtol=0, atol=TOLERANCE)
    # Far more than the tolerance: the run did move its model.
    start = load_file(launched / "models/rte" / ("teacher" if run == "finetune-teacher" else "student") /
                      "model.safetensors")
    if not run.endswith("assistant"):  # the assistant starts from the teacher's first layers
        moved = max((got[k] - start[k]).abs().max().item() for k in start if k in got)
        assert moved > 100 * TOLERANCE


@pytest.mark.slow
def test_a_stage_starts_its_runs_under_accelerate_launch_with_launch_processes(launched):
    """params.yaml asks for 2 processes: the stage relaunches itself, and the run is the one of
    the 2 processes above, byte for byte (1 machine of 2 processes, or 2 machines of 1)."""
    result = run_stage("train", "--method", "finetune", "--task", "rte", cwd=launched)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "accelerate.commands.launch --multi_gpu --num_processes 2" in result.stderr
    stage_run = run_dir(launched, ".", "finetune")
    assert RunSummary.read(stage_run / "summary.json").launch == {"processes": 2, "machines": 1,
                                                                   "mixed_precision": "no"}
    assert (stage_run / "model/model.safetensors").read_bytes() == \
        (run_dir(launched, "two", "finetune") / "model/model.safetensors").read_bytes()


def stage_files(cwd: Path) -> dict[str, bytes]:
    return {str(path.relative_to(cwd)): path.read_bytes() for root in ("runs/lgtm/rte", "live/lgtm/rte")
            for path in sorted((cwd / root).rglob("*")) if path.is_file()}


@pytest.mark.slow
def test_a_killed_launch_leaves_no_process_behind_and_resumes_bit_for_bit(launched, tmp_path):
    """LGTM, with dropout, in 2 processes, 24 steps, a checkpoint every 4: SIGKILL the stage
    after a checkpoint; its launcher and processes die with it, and the rerun resumes and ends
    where an uninterrupted launch ends, byte for byte (every process's RNG state restored)."""
    runs = {}
    for name in ("uninterrupted", "killed"):
        cwd = tmp_path / name
        for part in ("data", "models", "params.yaml"):
            (shutil.copytree if (launched / part).is_dir() else shutil.copy)(launched / part, cwd / part)
        for role in ("teacher", "student"):
            config_path = cwd / "models/rte" / role / "config.json"
            config_path.write_text(json.dumps({**json.loads(config_path.read_text()), "hidden_dropout_prob": 0.1,
                                               "attention_probs_dropout_prob": 0.1}))
        params = yaml.safe_load((cwd / "params.yaml").read_text())
        params["train"].update(epochs=4, eval_steps=5)
        params["launch"].update(checkpoint_steps=4)
        (cwd / "params.yaml").write_text(yaml.safe_dump(params))
        runs[name] = cwd
    result = run_stage("train", "--method", "lgtm", "--task", "rte", cwd=runs["uninterrupted"])
    assert result.returncode == 0, result.stderr[-3000:]

    killed = runs["killed"]
    stage = subprocess.Popen([sys.executable, "-m", "stages", "train", "--method", "lgtm", "--task", "rte"], cwd=killed,
                             env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    progress = killed / "checkpoints/lgtm/rte/latest/progress.json"
    deadline = time.monotonic() + 120
    while not progress.is_file():
        assert stage.poll() is None and time.monotonic() < deadline, "the run ended before it could be killed"
        time.sleep(0.01)
    stage.send_signal(signal.SIGKILL)
    stage.wait()
    step = json.loads(progress.read_text())["step"]
    time.sleep(3)  # a process left behind would go on: to the next checkpoint, or to the end
    assert json.loads(progress.read_text())["step"] == step and not (killed / "runs/lgtm/rte").exists()
    resumed = run_stage("train", "--method", "lgtm", "--task", "rte", cwd=killed)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming from the checkpoint of step {step}" in resumed.stderr
    assert stage_files(killed) == stage_files(runs["uninterrupted"])
