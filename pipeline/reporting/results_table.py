"""The results table from the evaluate stage's metrics files (metrics/RUN/TASK.json).

Rows: the teacher, then each method; columns: every trained task's dev metrics, the paper's
six tasks first in its order (MNLI-m/mm, QQP F1/acc, QNLI, SST-2, MRPC F1/acc, RTE), then CoLA,
STS-B and WNLI; then the average of the paper's columns and the average of all (scores x 100,
the mean of the columns, as the table shows them).
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.atomic import write_text
from pipeline.glue.tasks import TASKS
from pipeline.settings.runs import run_label

# The paper's table, in its column order.
PAPER_TASKS = ("mnli", "qqp", "qnli", "sst2", "mrpc", "rte")
METRIC_LABELS = {"accuracy": "Acc", "f1": "F1", "mcc": "MCC", "pearson": "Pearson", "spearman": "Spearman"}
# The table's name of each task (GLUE's, as the benchmark server spells them).
TASK_LABELS = {"mnli": "MNLI", "qqp": "QQP", "qnli": "QNLI", "sst2": "SST-2", "mrpc": "MRPC", "rte": "RTE",
               "cola": "CoLA", "stsb": "STS-B", "wnli": "WNLI"}
PAPER_AVERAGE, AVERAGE = "Avg (paper)", "Avg (all)"
# Sources whose text is not GLUE's, though written in a GLUE task's layout: the column says what
# the data is, and it is no column of the paper's (its average and published figures skip it).
OTHER_DATA_LABELS = {"rotten_tomatoes": {"sst2": "RT polarity"}}
# GLUE's data, or a stand-in for all of it: the paper's columns, and benchmark-server zips.
GLUE_SOURCES = ("hub", "dir", "synthetic")


def task_label(task: str, source: str) -> str:
    """The table's name of `task` as `source` (data.source) fills it."""
    return OTHER_DATA_LABELS.get(source, {}).get(task, TASK_LABELS[task])


def is_paper_task(task: str, source: str) -> bool:
    """Whether the column is one of the paper's: its task, on GLUE's data."""
    return task in PAPER_TASKS and task not in OTHER_DATA_LABELS.get(source, {})


def columns(tasks: list[str], source: str = "hub") -> list[tuple[str, str, str, str]]:
    """(label, task, dev split, metric) of each column for `tasks`, the paper's first; `source`
    (data.source) names the columns of tasks whose data is not GLUE's."""
    ordered = [t for t in PAPER_TASKS if t in tasks] + [t for t in TASKS if t in tasks and t not in PAPER_TASKS]
    found = []
    for name in ordered:
        task = TASKS[name]
        for split in task.dev_splits:
            suffix = {"dev_matched": "-m", "dev_mismatched": "-mm"}.get(split.name, "")
            for metric in task.metrics:
                # One metric needs no name (SST-2: accuracy); MNLI's splits are its two columns.
                shown = "" if len(task.metrics) == 1 else f" {METRIC_LABELS[metric]}"
                found.append((f"{task_label(name, source)}{suffix}{shown}", name, split.name, metric))
    return found


def every_column() -> list[tuple[str, str, str, str]]:
    """`columns` of every task on GLUE's data, then those of the tasks other data fills."""
    return columns(list(TASKS)) + [column for source, labels in OTHER_DATA_LABELS.items()
                                   for column in columns(list(labels), source)]


def results_frame(metrics_dir: Path, runs: list[str], tasks: list[str], source: str = "hub"):
    """The table: a row per run (finetune-teacher and methods, labelled as
    MethodInfo.label says), a column per task metric, and the two averages."""
    import pandas as pd

    spec = columns(tasks, source)
    table = {}
    for run in runs:
        values = {}
        for label, task, split, metric in spec:
            path = metrics_dir / run / f"{task}.json"
            if path.is_file():
                values[label] = 100 * json.loads(path.read_text())["dev"][split][metric]
        table[run_label(run)] = values
    frame = pd.DataFrame.from_dict(table, orient="index", columns=[label for label, *_ in spec])
    paper = [label for label, task, *_ in spec if is_paper_task(task, source)]
    frame[PAPER_AVERAGE] = frame[paper].mean(axis=1) if paper else float("nan")
    frame[AVERAGE] = frame[[label for label, *_ in spec]].mean(axis=1)
    return frame.round(1)


def write_tables(frame, directory: Path) -> dict[str, Path]:
    paths = {"md": directory / "results.md", "csv": directory / "results.csv", "tex": directory / "results.tex"}
    write_text(paths["md"], frame.to_markdown(floatfmt=".1f") + "\n")
    write_text(paths["csv"], frame.to_csv(float_format="%.1f"))
    write_text(paths["tex"], frame.to_latex(float_format="%.1f"))
    return paths
