"""The synthetic GLUE generator: deterministic, in the real layouts, and learnable."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from scipy.stats import pearsonr
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LinearRegression, LogisticRegression

from pipeline.glue import synthetic
from pipeline.glue.from_dir import read_glue_task
from pipeline.glue.tasks import TASKS

SMALL = {"real_sizes": False, "train_rows": 1500, "dev_rows": 300, "test_rows": 50}


def write_all(root, seed=0, defect_rate=0.01):
    for task in TASKS.values():
        synthetic.write_task(
            root, task, synthetic.split_sizes(task, **SMALL), seed=seed, label_noise=0.05, defect_rate=defect_rate
        )


def digest(root):
    files = sorted(p for p in root.rglob("*.tsv"))
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_same_seed_writes_identical_files_and_another_seed_does_not(tmp_path):
    write_all(tmp_path / "a", seed=3)
    write_all(tmp_path / "b", seed=3)
    write_all(tmp_path / "c", seed=4)
    first = digest(tmp_path / "a")
    assert len(first) == 3 * 8 + 5 + 1  # 8 tasks with train/dev/test, MNLI's 5 files, AX
    assert first == digest(tmp_path / "b")
    assert all(first[name] != other for name, other in digest(tmp_path / "c").items())


def test_file_names_match_the_glue_layout(tmp_path):
    write_all(tmp_path)
    names = set(digest(tmp_path))
    assert {"MNLI/dev_mismatched.tsv", "QQP/test.tsv", "diagnostic/diagnostic.tsv", "STS-B/train.tsv", "CoLA/dev.tsv"} <= names
    assert (tmp_path / "MRPC/train.tsv").read_bytes().startswith("\ufeffQuality\t".encode())
    assert "\t" in (tmp_path / "CoLA/train.tsv").read_text().splitlines()[0]  # no header: a data row
    assert (tmp_path / "QQP/test.tsv").read_text().startswith("id\tquestion1\tquestion2\n")


def test_sizes_and_defects_are_what_the_reader_reports(tmp_path):
    write_all(tmp_path, defect_rate=0.02)
    for task in TASKS.values():
        for split, examples, report in read_glue_task(tmp_path, task, max_malformed_fraction=0.5):
            expected = synthetic.split_sizes(task, **SMALL)[split.name]
            assert len(examples) == expected, (task.name, split.name)
            defects = sum(report.skipped.values())
            assert (defects > 0) == (split.name == "train"), (task.name, split.name, report.skipped)


def test_real_sizes_are_the_glue_row_counts():
    sizes = synthetic.split_sizes(TASKS["mnli"], real_sizes=True, train_rows=1, dev_rows=1, test_rows=1)
    assert sizes["train"] == 392702 and sizes["test_mismatched"] == 9847
    assert synthetic.split_sizes(TASKS["qqp"], real_sizes=True, train_rows=1, dev_rows=1, test_rows=1)["train"] == 363846


def features(examples):
    """Words of each side and the words both sides share: enough for a linear model."""
    docs = []
    for e in examples:
        a, b = e["text_a"].split(), (e["text_b"] or "").split()
        docs.append(" ".join([f"a_{w}" for w in a] + [f"b_{w}" for w in b] + [f"both_{w}" for w in sorted(set(a) & set(b))]))
    return docs


@pytest.mark.parametrize("name", [t for t in TASKS if t != "ax"])
def test_labels_are_learnable_from_the_text(tmp_path, name):
    """A linear model on word features must beat the majority class clearly on dev."""
    task = TASKS[name]
    synthetic.write_task(tmp_path, task, synthetic.split_sizes(task, **SMALL), seed=0, label_noise=0.05, defect_rate=0)
    splits = {split.name: examples for split, examples, _ in read_glue_task(tmp_path, task, max_malformed_fraction=0.5)}
    train, dev = splits["train"], splits[task.dev_splits[0].name]
    vectorizer = CountVectorizer(token_pattern=r"\S+", ngram_range=(1, 2), binary=True)
    x_train, x_dev = vectorizer.fit_transform(features(train)), vectorizer.transform(features(dev))
    y_train, y_dev = np.array([e["label"] for e in train]), np.array([e["label"] for e in dev])
    if task.is_regression:
        predicted = LinearRegression().fit(x_train, y_train).predict(x_dev)
        assert pearsonr(predicted, y_dev).statistic > 0.6, pearsonr(predicted, y_dev).statistic
    else:
        accuracy = (LogisticRegression(max_iter=2000).fit(x_train, y_train).predict(x_dev) == y_dev).mean()
        majority = np.bincount(y_dev).max() / len(y_dev)
        assert accuracy > majority + 0.15, (accuracy, majority)
