"""The influence report (pipeline/reporting/influence_report.py) on rows written here: its phases,
its lists of extremes with their texts, and the flipped-label panel on synthetic data only."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.errors import InputError
from pipeline.glue.tasks import get_task
from pipeline.reporting.influence_report import EXTREMES, with_phase, write_report

TASK = get_task("rte")  # labels: entailment (0), not_entailment (1)


def rows(tmp_path, steps=(5, 10, 15, 20, 25, 30), per_step=8):
    """Rows of `per_step` samples per step: sample k of step s has influence s * (k - 2)."""
    columns = {name: [] for name in ("step", "idx", "label", "influence", "share", "teacher_prob", "student_prob",
                                     "teacher_student_kl", "student_loss")}
    for step in steps:
        for k in range(per_step):
            values = (step, 100 * step + k, k % 2, float(step * (k - 2)), 0.0, 0.5, 0.5, 0.01 * k, 0.7)
            for name, value in zip(columns, values):
                columns[name].append(value)
    path = tmp_path / "influence.parquet"
    pq.write_table(pa.Table.from_pydict(columns), path)
    return path


def glue_dir(tmp_path, flipped: list[int] | None):
    task_dir = tmp_path / "glue" / "rte"
    task_dir.mkdir(parents=True)
    with open(task_dir / "train.jsonl", "w") as out:
        for idx in (3000, 3007, 507):
            out.write(json.dumps({"idx": idx, "text_a": f"premise {idx} | a", "text_b": f"hypothesis {idx}",
                                  "label": 0}) + "\n")
    if flipped is not None:
        (task_dir / "truth").mkdir()
        (task_dir / "truth" / "flipped_train.tsv").write_text(
            "idx\tclean_label\tlabel\n" + "".join(f"{i}\tentailment\tnot_entailment\n" for i in flipped))
    return task_dir


def test_the_logged_steps_are_cut_into_thirds():
    import pandas as pd

    frame = with_phase(pd.DataFrame({"step": [1, 1, 2, 3, 4, 5, 6, 7]}))
    assert frame["phase"].tolist() == ["early", "early", "early", "early", "middle", "middle", "late", "late"]


def test_the_report_on_synthetic_data(tmp_path):
    paths = write_report(TASK, rows(tmp_path), glue_dir(tmp_path, flipped=[3000, 507]), tmp_path / "out")
    text = paths["md"].read_text()
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "6 logged steps (5 to 30; 48 rows" in text and "![influence](rte.png)" in text
    # Steps 5, 10 early; 15, 20 middle; 25, 30 late: 16 rows each, 5 of 8 positive (k = 3..7).
    assert "| early | 16 |" in text and "| late | 16 |" in text and "| 62% |" in text
    # Flipped: 3000 (step 30, k = 0: influence -60) and 507 (step 5, k = 7: +25) of 48 rows.
    assert "| flipped | 2 | -17.5 | -17.5 | 50% |" in text
    most = text.split(f"## The {EXTREMES} most influential rows")[1].split("## The")[0]
    least = text.split(f"## The {EXTREMES} least influential rows")[1]
    assert most.count("\n| ") == 1 + 20 and least.count("\n| ") == 1 + 20  # the header, then 20 rows
    # The most influential: step 30, k = 7 (idx 3007, not_entailment), its texts, a pipe escaped.
    first = most.splitlines()[4]
    assert first.startswith("| 30 | 3007 | not_entailment |  | 150 |")
    assert "premise 3007 \\| a | hypothesis 3007 |" in first
    assert least.splitlines()[4].startswith("| 30 | 3000 | entailment | yes | -60 |")


def test_the_report_on_real_glue_says_there_is_no_record_of_flipped_labels(tmp_path):
    paths = write_report(TASK, rows(tmp_path), glue_dir(tmp_path, flipped=None), tmp_path / "out")
    text = paths["md"].read_text()
    assert "real GLUE has none, so this comparison is left out" in text and "| flipped |" not in text
    assert paths["png"].is_file()


def test_no_rows_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="influence_every other than 0"):
        write_report(TASK, tmp_path / "missing.parquet", glue_dir(tmp_path, flipped=None), tmp_path / "out")
