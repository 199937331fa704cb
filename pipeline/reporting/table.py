"""The paper's results table from the evaluate stages' metrics files.

Rows: the teacher, then each method; columns: MNLI-m/mm, QQP F1/acc, QNLI, SST-2,
MRPC F1/acc, RTE, and the average of the available columns (as the paper, scores x 100).
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.atomic import write_text
from pipeline.settings.methods import run_label

# (column, task, split key in the metrics file, metric)
COLUMNS = [
    ("MNLI-m", "mnli", "dev_matched", "accuracy"),
    ("MNLI-mm", "mnli", "dev_mismatched", "accuracy"),
    ("QQP F1", "qqp", "dev", "f1"),
    ("QQP Acc", "qqp", "dev", "accuracy"),
    ("QNLI", "qnli", "dev", "accuracy"),
    ("SST-2", "sst2", "dev", "accuracy"),
    ("MRPC F1", "mrpc", "dev", "f1"),
    ("MRPC Acc", "mrpc", "dev", "accuracy"),
    ("RTE", "rte", "dev", "accuracy"),
]


def results_frame(metrics_dir: Path, rows: list[str]):
    """Rows: run names (finetune-teacher and methods), labelled as pipeline/settings/methods.py says."""
    import pandas as pd

    table = {}
    for row in rows:
        values = {}
        for column, task, split, metric in COLUMNS:
            path = metrics_dir / task / f"{row}.json"
            if path.is_file():
                values[column] = 100 * json.loads(path.read_text())["dev"][split][metric]
        table[run_label(row)] = values
    frame = pd.DataFrame.from_dict(table, orient="index", columns=[c for c, *_ in COLUMNS]).dropna(axis=1, how="all")
    frame["Avg"] = frame.mean(axis=1)
    return frame.round(1)


def write_tables(frame, directory: Path) -> dict[str, Path]:
    paths = {"md": directory / "results.md", "csv": directory / "results.csv", "tex": directory / "results.tex"}
    write_text(paths["md"], frame.to_markdown(floatfmt=".1f") + "\n")
    write_text(paths["csv"], frame.to_csv(float_format="%.1f"))
    write_text(paths["tex"], frame.to_latex(float_format="%.1f"))
    return paths
