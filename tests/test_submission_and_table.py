"""The submission zip (complete, validated, baselines reported) and the results table."""

from __future__ import annotations

import json
import time
import zipfile

import pytest

from pipeline.errors import InputError
from pipeline.glue.normalized import write_split
from pipeline.glue.tasks import TASKS
from pipeline.reporting.results_table import results_frame, write_tables
from pipeline.reporting.submission import HEADER, SUBMISSION_FILES, build_submission


@pytest.fixture
def glue_data(tmp_path):
    """Normalised splits for every task: 3 test rows each, train labels with a clear majority."""
    root = tmp_path / "glue"
    for task in TASKS.values():
        for split in task.splits:
            if split.is_test:
                rows = [{"idx": i, "text_a": "t", "text_b": "u", "label": -1} for i in (0, 1, 2)]
            else:
                labels = [2.5, 3.5] if task.is_regression else [task.num_labels - 1] * 3 + [0]
                rows = [{"idx": i, "text_a": "t", "text_b": "u", "label": y} for i, y in enumerate(labels)]
            write_split(root / task.name / f"{split.name}.jsonl", rows)
    return root


def test_complete_zip_with_predicted_and_filled_files(glue_data, tmp_path):
    predictions = tmp_path / "pred" / "rte"
    predictions.mkdir(parents=True)
    (predictions / "RTE.tsv").write_text(f"{HEADER}\n0\tentailment\n1\tnot_entailment\n2\tentailment\n")
    report = build_submission([predictions], glue_data, tmp_path / "sub.zip")
    assert report["predicted"] == ["RTE.tsv"]
    assert sorted(report["filled_with_majority_class"]) == sorted(set(SUBMISSION_FILES) - {"RTE.tsv"})
    with zipfile.ZipFile(tmp_path / "sub.zip") as archive:
        assert sorted(archive.namelist()) == sorted(SUBMISSION_FILES) and len(SUBMISSION_FILES) == 11
        assert archive.read("RTE.tsv").decode().splitlines()[1] == "0\tentailment"
        # Majority classes, spelled as the server wants: strings for NLI, 0/1 for the others.
        assert archive.read("MNLI-m.tsv").decode().splitlines()[1:] == [f"{i}\tcontradiction" for i in range(3)]
        assert archive.read("AX.tsv").decode().splitlines()[1] == "0\tcontradiction"
        assert archive.read("SST-2.tsv").decode().splitlines()[1] == "0\t1"
        assert archive.read("STS-B.tsv").decode().splitlines()[1] == "0\t3.000"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (f"{HEADER}\n0\tentailment\n1\tentailment\n", r"RTE.tsv: 2 rows, the test set has 3"),
        (f"{HEADER}\n0\tentailment\n1\tpositive\n2\tentailment\n", r"RTE.tsv:3: label 'positive' not in \['entailment', 'not_entailment'\]"),
        ("id\tlabel\n0\tentailment\n1\tentailment\n2\tentailment\n", r"RTE.tsv: header must be 'index\\tprediction'"),
        (f"{HEADER}\n0\tentailment\n2\tentailment\n1\tentailment\n", r"RTE.tsv:3: expected index 1"),
    ],
)
def test_wrong_predictions_are_refused_and_no_zip_is_written(glue_data, tmp_path, content, message):
    predictions = tmp_path / "pred" / "rte"
    predictions.mkdir(parents=True)
    (predictions / "RTE.tsv").write_text(content)
    with pytest.raises(InputError, match=message):
        build_submission([predictions], glue_data, tmp_path / "sub.zip")
    assert not (tmp_path / "sub.zip").exists()


def test_results_table_has_every_trained_task_the_papers_first_and_both_averages(tmp_path):
    metrics = tmp_path / "metrics"
    dev = {"mnli": {"dev_matched": {"accuracy": 0.8}, "dev_mismatched": {"accuracy": 0.7}},
           "rte": {"dev": {"accuracy": 0.8}}, "mrpc": {"dev": {"f1": 0.6, "accuracy": 0.8}},
           "cola": {"dev": {"mcc": 0.3}}, "stsb": {"dev": {"pearson": 0.5, "spearman": 0.4}}}
    for run in ("finetune-teacher", "lgtm"):
        for task, scores in dev.items():
            (metrics / run).mkdir(parents=True, exist_ok=True)
            (metrics / run / f"{task}.json").write_text(json.dumps({"dev": scores}))
    frame = results_frame(metrics, ["finetune-teacher", "lgtm"], ["cola", "stsb", "rte", "mrpc", "mnli"])
    assert list(frame.index) == ["Teacher", "LGTM"]
    assert list(frame.columns) == ["MNLI-m", "MNLI-mm", "MRPC F1", "MRPC Acc", "RTE", "CoLA", "STS-B Pearson",
                                   "STS-B Spearman", "Avg (paper)", "Avg (all)"]
    assert frame.loc["LGTM"].tolist() == [80.0, 70.0, 60.0, 80.0, 80.0, 30.0, 50.0, 40.0, 74.0, 61.2]
    paths = write_tables(frame, tmp_path / "reports")
    assert "| LGTM " in paths["md"].read_text() and "\\begin{tabular}" in paths["tex"].read_text()
    assert paths["csv"].read_text().splitlines()[0].startswith(",MNLI-m,MNLI-mm,MRPC F1,")


def test_the_same_predictions_make_the_same_zip_byte_for_byte(glue_data, tmp_path, monkeypatch):
    build_submission([], glue_data, tmp_path / "first.zip")
    an_hour_later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: an_hour_later)  # what zipfile stamps entries with
    build_submission([], glue_data, tmp_path / "second.zip")
    assert (tmp_path / "first.zip").read_bytes() == (tmp_path / "second.zip").read_bytes()


def test_sst2_layout_filled_from_rotten_tomatoes_is_labelled_as_such_and_left_out_of_the_papers_average(tmp_path):
    metrics = tmp_path / "metrics"
    for run, accuracy in (("finetune-teacher", 0.85), ("finetune", 0.75)):
        (metrics / run).mkdir(parents=True)
        (metrics / run / "sst2.json").write_text(json.dumps({"dev": {"dev": {"accuracy": accuracy}}}))
    glue = results_frame(metrics, ["finetune-teacher", "finetune"], ["sst2"], "hub")
    assert list(glue.columns) == ["SST-2", "Avg (paper)", "Avg (all)"]
    assert glue.loc["Teacher", "Avg (paper)"] == 85.0
    critics = results_frame(metrics, ["finetune-teacher", "finetune"], ["sst2"], "rotten_tomatoes")
    assert list(critics.columns) == ["RT polarity", "Avg (paper)", "Avg (all)"]
    assert critics.loc["Student (fine-tuned)", "RT polarity"] == 75.0
    assert critics[["Avg (paper)"]].isna().all().all()
    assert critics.loc["Teacher", "Avg (all)"] == 85.0
