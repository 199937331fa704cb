"""The `dir` reader against files in the original GLUE layouts, quirks included.

The rows below are written by hand in the layouts of docs/glue.md (column order,
headers, label spellings as download_glue_data.py produced them), not by our generator, so
a mistake shared by the generator and the reader cannot hide here.
"""

from __future__ import annotations

import pytest

from pipeline.errors import InputError
from pipeline.glue.from_dir import read_glue_file, read_glue_task
from pipeline.glue.tasks import TASKS

T = "\t"


def write(path, lines, *, bom=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(("\ufeff" if bom else "") + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def read(path, task, split, fraction=0.5):
    return read_glue_file(path, TASKS[task], TASKS[task].split(split), max_malformed_fraction=fraction)


def test_cola_train_has_no_header_and_positional_columns(tmp_path):
    path = write(
        tmp_path / "train.tsv",
        [
            f"gj04{T}1{T}{T}Our friends won't buy this analysis, let alone the next one we propose.",
            f"gj04{T}0{T}*{T}They drank the pub.",
        ],
    )
    examples, report = read(path, "cola", "train")
    assert [(e["text_a"], e["label"]) for e in examples] == [
        ("Our friends won't buy this analysis, let alone the next one we propose.", 1),
        ("They drank the pub.", 0),
    ]
    assert report.rows == 2 and not report.skipped


def test_cola_test_has_a_header_and_keeps_its_index(tmp_path):
    path = write(tmp_path / "test.tsv", [f"index{T}sentence", f"0{T}Bill whistled past the house.", f"7{T}The car honked."])
    examples, _ = read(path, "cola", "test")
    assert [(e["idx"], e["label"]) for e in examples] == [(0, -1), (7, -1)]


def test_stray_quotes_are_text_not_quoting(tmp_path):
    path = write(
        tmp_path / "train.tsv",
        [f"sentence{T}label", f'"the film is "good{T}1', f'it \'s a "charming" and often affecting journey . {T}1'],
    )
    examples, _ = read(path, "sst2", "train")
    assert examples[0]["text_a"] == '"the film is "good'
    assert examples[1]["text_a"] == "it 's a \"charming\" and often affecting journey ."


def test_mrpc_byte_order_mark_and_quality_label(tmp_path):
    header = f"Quality{T}#1 ID{T}#2 ID{T}#1 String{T}#2 String"
    row = f"1{T}702876{T}702977{T}Amrozi accused his brother .{T}Referring to him as only \" the witness \" ."
    examples, _ = read(write(tmp_path / "train.tsv", [header, row], bom=True), "mrpc", "train")
    assert examples == [
        {"idx": 0, "text_a": "Amrozi accused his brother .", "text_b": 'Referring to him as only " the witness " .', "label": 1}
    ]


def test_qqp_missing_question_and_short_lines_are_skipped_and_counted(tmp_path):
    header = f"id{T}qid1{T}qid2{T}question1{T}question2{T}is_duplicate"
    lines = [
        header,
        f"133273{T}213221{T}213222{T}How is the life of a math student?{T}Which level of prepration is enough?{T}0",
        f"201841{T}303951{T}174364{T}How can I create an Android app?{T}{T}0",  # missing question2
        f"402555{T}536040{T}How do I ",  # a line cut short
        f"402556{T}536041{T}536042{T}Is it?{T}Is it really?{T}1",
    ]
    examples, report = read(write(tmp_path / "train.tsv", lines), "qqp", "train")
    assert [e["label"] for e in examples] == [0, 1]
    assert [e["idx"] for e in examples] == [0, 1]
    assert report.skipped == {"missing_text": 1, "too_few_fields": 1}
    assert report.example_lines == {"missing_text": [3], "too_few_fields": [4]}


def test_qqp_test_uses_id_and_keeps_rows_with_a_missing_question(tmp_path):
    # Every test row needs a prediction, so a test row with a missing text is kept, as empty text.
    lines = [f"id{T}question1{T}question2", f"0{T}Why?{T}How?", f"1{T}{T}What is it?"]
    examples, report = read(write(tmp_path / "test.tsv", lines), "qqp", "test")
    assert [(e["idx"], e["text_a"]) for e in examples] == [(0, "Why?"), (1, "")]
    assert report.empty_text_kept == 1


MNLI_META = (
    "index promptID pairID genre sentence1_binary_parse sentence2_binary_parse "
    "sentence1_parse sentence2_parse sentence1 sentence2"
).split()


def test_mnli_dev_has_five_annotator_labels_and_gold_label_is_used(tmp_path):
    header = T.join([*MNLI_META, "label1", "label2", "label3", "label4", "label5", "gold_label"])
    row = T.join(
        ["0", "63735", "63735n", "slate", "( ( The ... ) )", "( ( The ... ) )", "(ROOT ...)", "(ROOT ...)",
         "The new rights are nice enough", "Everyone really likes the newest benefits",
         "neutral", "entailment", "neutral", "neutral", "neutral", "neutral"]
    )
    examples, _ = read(write(tmp_path / "dev_matched.tsv", [header, row]), "mnli", "dev_matched")
    assert examples[0]["label"] == TASKS["mnli"].labels.index("neutral") == 1
    assert examples[0]["text_b"] == "Everyone really likes the newest benefits"


def test_mnli_unknown_gold_label_is_skipped(tmp_path):
    header = T.join([*MNLI_META, "label1", "gold_label"])
    good = T.join(["0", "1", "1e", "fiction", "x", "x", "x", "x", "A man sleeps.", "A person rests.", "entailment", "entailment"])
    bad = T.join(["1", "2", "2e", "fiction", "x", "x", "x", "x", "A man sleeps.", "A cat.", "-", "-"])
    examples, report = read(write(tmp_path / "train.tsv", [header, good, bad, good]), "mnli", "train")
    assert len(examples) == 2 and report.skipped == {"unknown_label": 1}


def test_stsb_float_scores(tmp_path):
    header = T.join("index genre filename year old_index source1 source2 sentence1 sentence2 score".split())
    row = T.join(["0", "main-captions", "MSRvid", "2012test", "0001", "none", "none", "A plane takes off.",
                  "An air plane is taking off.", "5.000"])
    examples, _ = read(write(tmp_path / "train.tsv", [header, row]), "stsb", "train")
    assert examples[0]["label"] == 5.0


def test_wnli_numeric_labels_map_to_hub_order(tmp_path):
    lines = [f"index{T}sentence1{T}sentence2{T}label", f"0{T}I stuck a pin.{T}The pin had a hole.{T}1"]
    examples, _ = read(write(tmp_path / "train.tsv", lines), "wnli", "train")
    assert TASKS["wnli"].labels[examples[0]["label"]] == "entailment"


def test_mostly_malformed_file_is_an_error_naming_file_and_line(tmp_path):
    lines = [f"index{T}question{T}sentence{T}label", f"0{T}q?{T}s.{T}entailment", f"1{T}q?", f"2{T}q?", f"3{T}q?"]
    path = write(tmp_path / "train.tsv", lines)
    with pytest.raises(InputError, match=rf"{path}:3: 3 of 4 rows are malformed \(first: too_few_fields\)"):
        read(path, "qnli", "train")


def test_missing_column_names_file_and_header(tmp_path):
    path = write(tmp_path / "train.tsv", [f"index{T}sentence1{T}label", f"0{T}a{T}entailment"])
    with pytest.raises(InputError, match=rf"{path}:1: missing column 'sentence2'"):
        read(path, "rte", "train")


def test_missing_file_and_missing_task_directory(tmp_path):
    with pytest.raises(InputError, match="train.tsv: file not found"):
        read(tmp_path / "train.tsv", "rte", "train")
    with pytest.raises(InputError, match="RTE: directory not found"):
        list(read_glue_task(tmp_path, TASKS["rte"], max_malformed_fraction=0.5))


def test_non_utf8_file_names_the_line(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_bytes(b"sentence\tlabel\ngood film\t1\ncaf\xe9 au lait\t0\n")
    # Line 3, its fourth character: the column, not the byte's offset in the line.
    with pytest.raises(InputError, match=rf"{path}:3: column 4: byte 0xe9 is not UTF-8"):
        read(path, "sst2", "train")
    path.write_bytes(b"sentence\tlabel\nna\xc3\xafve caf\xe9\t0\n")
    with pytest.raises(InputError, match=rf"{path}:2: column 10: byte 0xe9 is not UTF-8"):
        read(path, "sst2", "train")


def test_empty_split_is_an_error(tmp_path):
    path = write(tmp_path / "dev.tsv", ["sentence\tlabel"])
    with pytest.raises(InputError, match="no usable rows"):
        read(path, "sst2", "dev")
