"""Training, evaluation, prediction, submission and the table, as DVC runs them: stage
commands in a scratch directory, on RTE and MNLI (and AX, predicted with MNLI's model)."""

from __future__ import annotations

import json
import zipfile

import pytest
import yaml
from conftest import run_stage, stage_test_params

from pipeline.methods.registry import METHODS

pytestmark = pytest.mark.slow

FAST_TRAINING = {"epochs": 1, "eval_steps": 4, "batch_size": 16}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """RTE and MNLI downloaded, tokenized and ready to train; every other task downloaded."""
    cwd = tmp_path_factory.mktemp("stages")
    params = stage_test_params()
    params["tasks"] = ["rte", "mnli"]
    params["data"]["synthetic"].update(train_rows=120, dev_rows=30, test_rows=20)
    params["train"].update(FAST_TRAINING)
    (cwd / "params.yaml").write_text(yaml.safe_dump(params))
    for stage in ("params", "download", "pretrained", "tokenize"):
        result = run_stage(stage, cwd=cwd)
        assert result.returncode == 0, result.stderr
    return cwd


# The stage that trains each run (methods.pretrained: train; methods.teacher: distill; ...).
STAGE_OF = {"finetune-teacher": ("finetune-teacher",), "finetune": ("train", "--method", "finetune"),
            "lgtm": ("train", "--method", "lgtm"), "prokt": ("train", "--method", "prokt"),
            "kd": ("distill", "--method", "kd"), "takd-assistant": ("assistant", "--method", "takd"),
            "takd": ("distill-assistant", "--method", "takd"), "rco": ("distill-anchors", "--method", "rco")}
TEACHER_GROUP = ", ".join(name for name, info in METHODS.items() if info.starts_from == "teacher")
PRETRAINED_GROUP = ", ".join(name for name, info in METHODS.items() if info.starts_from == "pretrained")
NO_METHODS = {"pretrained": [], "teacher": [], "assistant": [], "anchors": []}


def trained(cwd, task, method):
    """The run's summary, training it first if this module has not yet."""
    summary = cwd / "runs" / method / task / "summary.json"
    return json.loads(summary.read_text()) if summary.exists() else train(cwd, task, method)


def train(cwd, task, method):
    result = run_stage(*STAGE_OF[method], "--task", task, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((cwd / "runs" / method / task / "summary.json").read_text())


def test_each_method_trains_keeps_its_best_student_and_logs(workdir):
    steps = -(-120 // 16)  # one epoch
    for method in ("finetune-teacher", "kd", "lgtm"):
        summary = train(workdir, "rte", method)
        assert summary["steps"] == steps and summary["selection_metric"] == "accuracy"
        assert 1 <= summary["best_step"] <= steps
        assert (workdir / "runs" / method / "rte/model/config.json").is_file()
        assert (workdir / "runs" / method / "rte/model/tokenizer.json").is_file()
        live = workdir / "live" / method / "rte/plots/metrics"
        losses = (live / "train/student_loss.tsv").read_text().splitlines()
        assert losses[0].split("\t") == ["step", "student_loss"] and len(losses) == 1 + steps
        assert [int(line.split("\t")[0]) for line in losses[1:]] == list(range(1, steps + 1))  # as the console counts
        evaluations = (live / "eval/student/accuracy.tsv").read_text().splitlines()
        assert [int(line.split("\t")[0]) for line in evaluations[1:]] == sorted({*range(4, steps + 1, 4), steps})
    # Methods that train the teacher record its best dev score too.
    assert summary["teacher_best"] is not None and summary["teacher_best_step"] is not None


def narrow(cwd, **changes):
    params = yaml.safe_load((cwd / "params.yaml").read_text())
    params.update(changes)
    (cwd / "params.yaml").write_text(yaml.safe_dump(params))


def test_takd_distils_from_an_assistant_distilled_from_the_teacher(workdir):
    trained(workdir, "rte", "finetune-teacher")
    assistant = train(workdir, "rte", "takd-assistant")
    assert assistant["method"] == "takd-assistant" and assistant["steps"] == -(-120 // 16)
    config = json.loads((workdir / "runs/takd-assistant/rte/model/config.json").read_text())
    assert config["num_hidden_layers"] == 2  # halfway between the demo's 2-layer teacher and 1-layer student, up
    assert train(workdir, "rte", "takd")["best_step"] is not None


def test_rco_distils_from_the_anchors_of_the_teachers_fine_tuning(workdir):
    trained(workdir, "rte", "finetune-teacher")
    anchors = workdir / "runs/teacher-anchors/rte"
    assert sorted(p.name for p in anchors.iterdir()) == ["anchor-1", "anchor-2", "anchor-3", "anchor-4"]
    assert all((path / "model.safetensors").is_file() and (path / "tokenizer.json").is_file() for path in anchors.iterdir())
    assert train(workdir, "rte", "rco")["best_step"] is not None


def test_rco_without_its_anchors_exits_2_naming_them(workdir, tmp_path):
    trained(workdir, "rte", "finetune-teacher")
    original = (workdir / "params.yaml").read_text()
    try:
        params = yaml.safe_load(original)
        params["rco"]["anchors"] = 5
        (workdir / "params.yaml").write_text(yaml.safe_dump(params))
        result = run_stage(*STAGE_OF["rco"], "--task", "rte", cwd=workdir)
    finally:
        (workdir / "params.yaml").write_text(original)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error: runs/teacher-anchors/rte: 4 anchors; rco.anchors asks for 5: run the finetune-teacher stage first")


def test_evaluate_writes_dev_metrics_server_files_and_zips(workdir):
    for run in ("finetune-teacher", "finetune"):
        trained(workdir, "mnli", run)
    original = (workdir / "params.yaml").read_text()
    try:
        narrow(workdir, tasks=["mnli"], methods={**NO_METHODS, "pretrained": ["finetune"]})
        result = run_stage("evaluate", cwd=workdir)
    finally:
        (workdir / "params.yaml").write_text(original)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((workdir / "metrics/finetune/mnli.json").read_text())
    assert set(metrics["dev"]) == {"dev_matched", "dev_mismatched"}
    assert set(metrics["majority_class"]) == {"dev_matched", "dev_mismatched"}
    assert all(1 / 3 <= share <= 1 for share in metrics["largest_predicted_class"].values())
    assert set(metrics["largest_predicted_class"]) == {"dev_matched", "dev_mismatched"}
    assert metrics["selection"]["best"]["accuracy"] == pytest.approx(metrics["dev"]["dev_matched"]["accuracy"])
    assert (workdir / "metrics/finetune-teacher/mnli.json").is_file()
    predictions = workdir / "predictions/finetune/mnli"
    assert sorted(p.name for p in predictions.iterdir()) == ["AX.tsv", "MNLI-m.tsv", "MNLI-mm.tsv"]
    rows = (predictions / "MNLI-mm.tsv").read_text().splitlines()
    assert rows[0] == "index\tprediction" and len(rows) == 21
    assert {row.split("\t")[1] for row in rows[1:]} <= {"entailment", "neutral", "contradiction"}
    report = json.loads((workdir / "submissions/finetune.json").read_text())
    assert sorted(report["predicted"]) == ["AX.tsv", "MNLI-m.tsv", "MNLI-mm.tsv"] and len(report["filled_with_majority_class"]) == 8
    assert "not trained, filled with the training majority class" in result.stderr


def test_predict_any_checkpoint(workdir, tmp_path):
    trained(workdir, "rte", "kd")
    result = run_stage("predict", "--model", "runs/kd/rte/model", "--task", "rte", "--out", str(tmp_path / "out"), cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = (tmp_path / "out/RTE.tsv").read_text().splitlines()
    assert len(rows) == 21 and {row.split("\t")[1] for row in rows[1:]} <= {"entailment", "not_entailment"}


@pytest.mark.parametrize(
    ("make_checkpoint", "message"),
    [
        (lambda d: None, "not a model directory (no config.json)"),
        (lambda d: (d / "config.json").write_text("{not json"), "cannot be loaded as a sequence classifier"),
    ],
)
def test_predict_refuses_what_is_not_a_model(workdir, tmp_path, make_checkpoint, message):
    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    make_checkpoint(checkpoint)
    result = run_stage("predict", "--model", str(checkpoint), "--task", "rte", "--out", str(tmp_path / "out"), cwd=workdir)
    assert result.returncode == 2 and message in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "out").exists()


def test_predict_refuses_a_model_of_another_task(workdir, tmp_path):
    trained(workdir, "mnli", "finetune")
    result = run_stage("predict", "--model", "runs/finetune/mnli/model", "--task", "rte", "--out", str(tmp_path / "out"), cwd=workdir)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith("the model has 3 outputs; task rte needs 2")


def test_submission_and_table_from_the_evaluated_runs(workdir):
    for run in ("finetune-teacher", "kd"):
        trained(workdir, "rte", run)
    original = (workdir / "params.yaml").read_text()
    try:
        narrow(workdir, tasks=["rte"], methods={**NO_METHODS, "teacher": ["kd"]})
        result = run_stage("evaluate", cwd=workdir)
        assert result.returncode == 0, result.stderr[-3000:]
        table = run_stage("table", cwd=workdir)
    finally:
        (workdir / "params.yaml").write_text(original)
    report = json.loads((workdir / "submissions/kd.json").read_text())
    assert report["predicted"] == ["RTE.tsv"] and len(report["filled_with_majority_class"]) == 10
    with zipfile.ZipFile(workdir / "submissions/kd.zip") as archive:
        assert len(archive.namelist()) == 11
        assert archive.read("RTE.tsv") == (workdir / "predictions/kd/rte/RTE.tsv").read_bytes()
    assert table.returncode == 0, table.stderr[-3000:]
    assert "| KD " in table.stdout  # the markdown table is printed
    rows = (workdir / "reports/results.csv").read_text().splitlines()
    assert rows[0] == ",RTE,Avg (paper),Avg (all)" and [row.split(",")[0] for row in rows[1:]] == ["Teacher", "KD"]


@pytest.mark.parametrize(("stage", "method", "message"), [
    ("distill", "dkd", f"error: --method 'dkd': this stage trains the methods of methods.teacher: {TEACHER_GROUP}"),
    ("distill", "lgtm", f"error: --method 'lgtm': this stage trains the methods of methods.teacher: {TEACHER_GROUP}"),
    ("train", "kd", f"error: --method 'kd': this stage trains the methods of methods.pretrained: {PRETRAINED_GROUP}"),
    ("distill-anchors", "kd", "error: --method 'kd': this stage trains the methods of methods.anchors: rco"),
    ("assistant", "rco", "error: --method 'rco': this stage trains the methods of methods.assistant: takd"),
])
def test_a_method_of_another_stage_exits_2_before_any_work(workdir, stage, method, message):
    result = run_stage(stage, "--method", method, "--task", "rte", cwd=workdir)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [message]
