"""Training, evaluation, prediction, submission and the table, as DVC runs them: stage
commands in a scratch directory, on RTE (and AX, predicted with MNLI's model)."""

from __future__ import annotations

import json
import zipfile

import pytest
import yaml
from conftest import run_stage, stage_test_params

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
    for task in params["data"]["tasks"]:
        assert run_stage("download", "--task", task, cwd=cwd).returncode == 0
    for task in params["tasks"]:
        for stage in ("pretrained", "tokenize"):
            result = run_stage(stage, "--task", task, cwd=cwd)
            assert result.returncode == 0, result.stderr
    return cwd


def trained(cwd, task, method):
    """The run's summary, training it first if this module has not yet."""
    summary = cwd / "runs" / task / method / "summary.json"
    return json.loads(summary.read_text()) if summary.exists() else train(cwd, task, method)


def train(cwd, task, method):
    args = ("finetune-teacher", "--task", task) if method == "finetune-teacher" else ("distill", "--task", task, "--method", method)
    result = run_stage(*args, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((cwd / "runs" / task / method / "summary.json").read_text())


def test_each_method_trains_keeps_its_best_student_and_logs(workdir):
    steps = -(-120 // 16)  # one epoch
    for method in ("finetune-teacher", "kd", "lgtm"):
        summary = train(workdir, "rte", method)
        assert summary["steps"] == steps and summary["selection_metric"] == "accuracy"
        assert 1 <= summary["best_step"] <= steps
        assert (workdir / "runs/rte" / method / "model/config.json").is_file()
        assert (workdir / "runs/rte" / method / "model/tokenizer.json").is_file()
        losses = (workdir / "live/rte" / method / "plots/metrics/train/student_loss.tsv").read_text().splitlines()
        assert losses[0].split("\t") == ["step", "student_loss"] and len(losses) == 1 + steps
        evaluations = (workdir / "live/rte" / method / "plots/metrics/eval/student/accuracy.tsv").read_text().splitlines()
        assert len(evaluations) == 1 + len({*range(4, steps + 1, 4), steps})
    # Methods that train the teacher record its best dev score too.
    assert summary["teacher_best"] is not None and summary["teacher_best_step"] is not None


def test_evaluate_writes_dev_metrics_and_server_files(workdir):
    trained(workdir, "mnli", "finetune")
    result = run_stage("evaluate", "--task", "mnli", "--method", "finetune", cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((workdir / "metrics/mnli/finetune.json").read_text())
    assert set(metrics["dev"]) == {"dev_matched", "dev_mismatched"}
    assert set(metrics["majority_class"]) == {"dev_matched", "dev_mismatched"}
    assert metrics["selection"]["best"]["accuracy"] == pytest.approx(metrics["dev"]["dev_matched"]["accuracy"])
    predictions = workdir / "predictions/finetune/mnli"
    assert sorted(p.name for p in predictions.iterdir()) == ["AX.tsv", "MNLI-m.tsv", "MNLI-mm.tsv"]
    rows = (predictions / "MNLI-mm.tsv").read_text().splitlines()
    assert rows[0] == "index\tprediction" and len(rows) == 21
    assert {row.split("\t")[1] for row in rows[1:]} <= {"entailment", "neutral", "contradiction"}


def test_predict_any_checkpoint(workdir, tmp_path):
    trained(workdir, "rte", "kd")
    result = run_stage("predict", "--model", "runs/rte/kd/model", "--task", "rte", "--out", str(tmp_path / "out"), cwd=workdir)
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
    result = run_stage("predict", "--model", "runs/mnli/finetune/model", "--task", "rte", "--out", str(tmp_path / "out"), cwd=workdir)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].endswith("the model has 3 outputs; task rte needs 2")


def test_submission_and_table_from_the_evaluated_runs(workdir):
    for method in ("finetune-teacher", "kd"):
        trained(workdir, "rte", method)
        assert run_stage("evaluate", "--task", "rte", "--method", method, cwd=workdir).returncode == 0
    params = yaml.safe_load((workdir / "params.yaml").read_text())
    params.update(tasks=["rte"], methods=["kd"])
    (workdir / "params.yaml").write_text(yaml.safe_dump(params))
    result = run_stage("submit", "--method", "kd", cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((workdir / "submissions/kd.json").read_text())
    assert report["predicted"] == ["RTE.tsv"] and len(report["filled_with_majority_class"]) == 10
    assert "not trained, filled with the training majority class" in result.stderr
    with zipfile.ZipFile(workdir / "submissions/kd.zip") as archive:
        assert len(archive.namelist()) == 11
        assert archive.read("RTE.tsv") == (workdir / "predictions/kd/rte/RTE.tsv").read_bytes()
    result = run_stage("table", cwd=workdir)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "| KD " in result.stdout  # the markdown table is printed
    table = (workdir / "reports/results.csv").read_text().splitlines()
    assert table[0] == ",RTE,Avg" and [row.split(",")[0] for row in table[1:]] == ["Teacher", "KD"]


def test_unknown_method_exits_2_before_any_work(workdir):
    result = run_stage("distill", "--task", "rte", "--method", "dkd", cwd=workdir)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["error: unknown method 'dkd'; expected one of: finetune, kd, prokt, lgtm"]
