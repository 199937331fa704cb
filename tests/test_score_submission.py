"""Server files scored against true test labels: hand-worked metrics, refused inputs, a zip the
evaluate stage's builder made, and the command line."""

from __future__ import annotations

import json
import math
import zipfile

import pytest
from conftest import run_stage

from pipeline.errors import InputError
from pipeline.glue.normalized import write_split
from pipeline.glue.tasks import TASKS
from pipeline.reporting import server_score
from pipeline.reporting.server_score import read_truth, score_rows, score_submission
from pipeline.reporting.submission import HEADER, SUBMISSION_FILES, build_submission


def write_truth(path, labels: dict[int, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("index\tlabel\n" + "".join(f"{idx}\t{label}\n" for idx, label in labels.items()))


def test_mrpc_f1_and_accuracy_worked_by_hand():
    # truth 1 1 1 0 0 0, predicted 1 1 0 1 1 0: TP 2, FN 1, FP 2, TN 1.
    # F1 = 2TP / (2TP + FP + FN) = 4/7; accuracy = (TP + TN) / 6 = 1/2. Rows in any order.
    truth = dict(enumerate("111000"))
    rows = ["5\t0", "0\t1", "1\t1", "2\t0", "3\t1", "4\t1"]
    scores = score_rows(TASKS["mrpc"], "test", rows, truth)
    assert list(scores) == ["f1", "accuracy"]
    assert scores["f1"] == pytest.approx(4 / 7) and scores["accuracy"] == pytest.approx(1 / 2)


def test_stsb_pearson_and_spearman_worked_by_hand():
    # truth 1 2 3 4 (deviations -1.5 -0.5 0.5 1.5), predicted 1 3 2 10 (mean 4, deviations -3 -1 -2 6):
    # Pearson = (4.5 + 0.5 - 1 + 9) / sqrt(5 * 50) = 13 / sqrt(250).
    # Spearman: ranks 1 3 2 4 against 1 2 3 4, sum d^2 = 2: 1 - 6 * 2 / (4 * 15) = 0.8.
    truth = {0: "1.0", 1: "2.0", 2: "3.0", 3: "4.0"}
    rows = ["0\t1.000", "1\t3.000", "2\t2.000", "3\t10.000"]
    scores = score_rows(TASKS["stsb"], "test", rows, truth)
    assert scores["pearson"] == pytest.approx(13 / math.sqrt(250)) and scores["spearman"] == pytest.approx(0.8)


def test_ax_three_class_matthews_correlation_worked_by_hand():
    # truth E E N N C C, predicted E N N N C E: correct c = 4 of s = 6, true counts t = (2, 2, 2),
    # predicted counts p = (2, 3, 1). R3 = (c s - t.p) / sqrt((s^2 - p.p)(s^2 - t.t))
    # = (24 - 12) / sqrt((36 - 14) * (36 - 12)) = 12 / sqrt(528).
    truth = dict(enumerate(["entailment", "entailment", "neutral", "neutral", "contradiction", "contradiction"]))
    predicted = ["entailment", "neutral", "neutral", "neutral", "contradiction", "entailment"]
    scores = score_rows(TASKS["ax"], "test", [f"{i}\t{label}" for i, label in enumerate(predicted)], truth)
    assert scores == {"mcc": pytest.approx(12 / math.sqrt(528))}


def test_cola_matthews_correlation_worked_by_hand():
    # truth 1 1 0 0, predicted 1 0 0 0: TP 1, FN 1, TN 2, FP 0; MCC = (1*2 - 0*1) / sqrt(1 * 2 * 2 * 3) = 2 / sqrt(12).
    scores = score_rows(TASKS["cola"], "test", ["0\t1", "1\t0", "2\t0", "3\t0"], dict(enumerate("1100")))
    assert scores == {"mcc": pytest.approx(2 / math.sqrt(12))}


@pytest.mark.parametrize(
    ("task", "rows", "message"),
    [
        ("rte", ["0\tentailment", "2\tentailment"], r"^RTE.tsv: 1 of 3 test indices not predicted: 1$"),
        ("rte", ["0\tentailment", "1\tentailment", "2\tentailment", "3\tentailment"],
         r"^RTE.tsv:5: index 3 is not in the test set \(3 examples\)$"),
        ("rte", ["0\tentailment", "1\tentailment", "0\tentailment"],
         r"^RTE.tsv:4: index 0 predicted twice \(first on line 2\)$"),
        ("rte", ["0\tentailment", "1\tneutral", "2\tentailment"],
         r"^RTE.tsv:3: label 'neutral' not in \['entailment', 'not_entailment'\]$"),
        ("mrpc", ["0\t1", "1\tequivalent", "2\t0"], r"^MRPC.tsv:3: label 'equivalent' not in \['0', '1'\]$"),
        ("stsb", ["0\t1.0", "1\tnan", "2\t3.0"], r"^STS-B.tsv:3: 'nan' is not a finite score$"),
        ("rte", ["0 entailment"], r"^RTE.tsv:2: expected 'index<TAB>prediction', got '0 entailment'$"),
    ],
)
def test_wrong_rows_are_refused_on_one_line(task, rows, message):
    truth = {"rte": {0: "entailment", 1: "entailment", 2: "not_entailment"},
             "mrpc": dict(enumerate("101")), "stsb": {0: "1.0", 1: "2.0", 2: "3.0"}}[task]
    with pytest.raises(InputError, match=message):
        score_rows(TASKS[task], "test", rows, truth)


def test_a_truth_file_is_read_and_a_bad_one_refused_naming_file_and_line(tmp_path):
    path = tmp_path / "test.tsv"
    path.write_text("index\tlabel\n0\tentailment\n7\tnot_entailment\n")
    assert read_truth(path) == {0: "entailment", 7: "not_entailment"}
    path.write_text("index\tprediction\n0\tentailment\n")
    with pytest.raises(InputError, match=rf"^{path}:1: header must be 'index\\tlabel', got 'index\\tprediction'$"):
        read_truth(path)
    path.write_text("index\tlabel\n0\tentailment\nx\tentailment\n")
    with pytest.raises(InputError, match=rf"^{path}:3: expected 'index<TAB>label', got 'x\\tentailment'$"):
        read_truth(path)
    path.write_text("index\tlabel\n0\tentailment\n0\tentailment\n")
    with pytest.raises(InputError, match=rf"^{path}:3: index 0 appears twice$"):
        read_truth(path)


@pytest.fixture
def glue_data(tmp_path):
    """The least build_submission needs: every task's train (for the majority class) and test
    splits, 3 test rows each; the majority class is each task's last label (STS-B: 3.0)."""
    root = tmp_path / "glue"
    for task in TASKS.values():
        for split in task.splits:
            if split.is_test:
                rows = [{"idx": i, "text_a": "t", "text_b": "u", "label": -1} for i in (0, 1, 2)]
            elif split.name == "train":
                labels = [2.5, 3.5] if task.is_regression else [task.num_labels - 1] * 3 + [0]
                rows = [{"idx": i, "text_a": "t", "text_b": "u", "label": y} for i, y in enumerate(labels)]
            else:
                continue
            write_split(root / task.name / f"{split.name}.jsonl", rows)
    return root


def write_predictions(directory, files: dict[str, list[str]]) -> None:
    directory.mkdir(parents=True)
    for name, labels in files.items():
        (directory / name).write_text(HEADER + "\n" + "".join(f"{i}\t{label}\n" for i, label in enumerate(labels)))


@pytest.fixture
def submission(glue_data, tmp_path):
    """A zip with RTE and MNLI (and AX) predicted, the rest filled; truth for RTE, MRPC, MNLI and AX.

    RTE 1/3 right; MNLI-m 2/3, MNLI-mm 1/3; MRPC filled with "1" against 1 0 1: TP 2, FP 1,
    F1 = 4/5, accuracy 2/3; AX all right, MCC 1.
    """
    write_predictions(tmp_path / "pred" / "rte", {"RTE.tsv": ["entailment", "not_entailment", "entailment"]})
    write_predictions(tmp_path / "pred" / "mnli", {"MNLI-m.tsv": ["entailment", "neutral", "contradiction"],
                                                   "MNLI-mm.tsv": ["entailment"] * 3,
                                                   "AX.tsv": ["entailment", "neutral", "contradiction"]})
    zip_path = tmp_path / "lgtm.zip"
    build_submission([tmp_path / "pred" / "rte", tmp_path / "pred" / "mnli"], glue_data, zip_path)
    write_truth(glue_data / "rte" / "truth" / "test.tsv", dict(enumerate(["entailment", "entailment", "not_entailment"])))
    write_truth(glue_data / "mrpc" / "truth" / "test.tsv", dict(enumerate("101")))
    write_truth(glue_data / "mnli" / "truth" / "test_matched.tsv", dict(enumerate(["entailment", "neutral", "neutral"])))
    write_truth(glue_data / "mnli" / "truth" / "test_mismatched.tsv",
                dict(enumerate(["entailment", "neutral", "contradiction"])))
    write_truth(glue_data / "ax" / "truth" / "test.tsv", dict(enumerate(["entailment", "neutral", "contradiction"])))
    return zip_path


def test_a_built_zip_is_scored_file_by_file_with_the_leaderboards_glue_score(submission, glue_data):
    result = score_submission(submission, glue_data)
    assert list(result["scores"]) == ["MRPC.tsv", "MNLI-m.tsv", "MNLI-mm.tsv", "RTE.tsv", "AX.tsv"]
    assert result["scores"]["MRPC.tsv"] == {"f1": pytest.approx(4 / 5), "accuracy": pytest.approx(2 / 3)}
    assert result["scores"]["MNLI-m.tsv"] == {"accuracy": pytest.approx(2 / 3)}
    assert result["scores"]["MNLI-mm.tsv"] == {"accuracy": pytest.approx(1 / 3)}
    assert result["scores"]["RTE.tsv"] == {"accuracy": pytest.approx(1 / 3)}
    assert result["scores"]["AX.tsv"] == {"mcc": pytest.approx(1.0)}
    assert result["unscored"] == ["CoLA.tsv", "SST-2.tsv", "STS-B.tsv", "QQP.tsv", "QNLI.tsv", "WNLI.tsv"]
    # MRPC (4/5 + 2/3) / 2 = 11/15, MNLI (2/3 + 1/3) / 2 = 1/2, RTE 1/3; AX left out:
    # (11/15 + 1/2 + 1/3) / 3 = 47/90. (MNLI-m and MNLI-mm as two tasks would give 31/60.)
    assert result["glue_score"] == pytest.approx(47 / 90)
    assert result["glue_score_tasks"] == ["MRPC", "MNLI", "RTE"]


def test_a_run_s_test_metrics_are_its_own_splits_and_none_without_truth(submission, glue_data, tmp_path):
    mnli = server_score.test_metrics(TASKS["mnli"], tmp_path / "pred" / "mnli", glue_data / "mnli" / "truth")
    assert mnli == {"test_matched": {"accuracy": pytest.approx(2 / 3)},
                    "test_mismatched": {"accuracy": pytest.approx(1 / 3)}}
    assert server_score.test_metrics(TASKS["qnli"], tmp_path / "pred" / "qnli", glue_data / "qnli" / "truth") is None
    with pytest.raises(InputError, match=r"pred/mrpc/MRPC.tsv: prediction file not found"):
        server_score.test_metrics(TASKS["mrpc"], tmp_path / "pred" / "mrpc", glue_data / "mrpc" / "truth")


def test_a_wrong_file_in_the_zip_is_named_with_its_line(glue_data, tmp_path):
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as archive:
        for name in SUBMISSION_FILES:
            archive.writestr(name, f"{HEADER}\n0\tentailment\n1\tcontradiction\n" if name == "RTE.tsv" else HEADER + "\n")
    write_truth(glue_data / "rte" / "truth" / "test.tsv", dict(enumerate(["entailment", "entailment"])))
    with pytest.raises(InputError, match=r"bad.zip/RTE.tsv:3: label 'contradiction' not in"):
        score_submission(tmp_path / "bad.zip", glue_data)


def test_the_command_prints_the_table_and_writes_the_json(submission, glue_data, tmp_path):
    result = run_stage("score-submission", str(submission), "--glue-data", str(glue_data), "--json", "out.json",
                       cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "file         metric    score",
        "MRPC.tsv     F1         80.0",
        "MRPC.tsv     Acc        66.7",
        "MNLI-m.tsv   Acc        66.7",
        "MNLI-mm.tsv  Acc        33.3",
        "RTE.tsv      Acc        33.3",
        "AX.tsv       MCC       100.0",
        "unscored (no true labels): CoLA.tsv, SST-2.tsv, STS-B.tsv, QQP.tsv, QNLI.tsv, WNLI.tsv",
        "GLUE score: 52.2 (mean of MRPC, MNLI, RTE; AX left out)",
    ]
    written = json.loads((tmp_path / "out.json").read_text())
    assert written["glue_score"] == pytest.approx(47 / 90) and written["scores"]["RTE.tsv"]["accuracy"] == pytest.approx(1 / 3)


def test_the_command_refuses_a_zip_lacking_a_file_on_one_line(glue_data, tmp_path):
    with zipfile.ZipFile(tmp_path / "partial.zip", "w") as archive:
        for name in SUBMISSION_FILES:
            if name != "QNLI.tsv":
                archive.writestr(name, HEADER + "\n")
    result = run_stage("score-submission", "partial.zip", "--glue-data", str(glue_data), cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: partial.zip: lacks QNLI.tsv; the server takes only zips with all 11 files at the root"]


def test_the_command_refuses_a_glue_download_without_true_labels(glue_data, tmp_path):
    build_submission([], glue_data, tmp_path / "majority.zip")
    result = run_stage("score-submission", "majority.zip", "--glue-data", "glue", cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["error: glue: no true test labels (TASK/truth/SPLIT.tsv) for any file of "
                                          "majority.zip; only the synthetic GLUE has them"]
