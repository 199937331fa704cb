"""metrics/summary.json: the few numbers that lead `dvc exp show`, from the metrics files.

For each run (the teacher alone and each method), its average over the results table's
columns ("Avg (all)") and its headline score on each task: the task's selection metric on its
first dev split (MNLI: matched), both x100 and rounded to 0.1, as the table shows them.

    {"lgtm": {"avg": 87.0, "mnli": 94.5, "qqp": 93.6, ...}, "kd": {...}, "teacher": {...}}

Keyed run first so that a method's columns sit side by side and share their prefix with the
method's params (`lgtm.avg`, `lgtm.mnli`, ... beside `lgtm.radius`): one `--keep '^lgtm\\.'`
shows a method's knobs and results together. The teacher alone (finetune-teacher) is
`teacher`, as the table names it, to keep its columns short.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import InputError
from pipeline.glue.tasks import TASKS
from pipeline.reporting.results_table import AVERAGE, columns, results_frame
from pipeline.settings.runs import reported_run, run_label


def summary_key(run: str) -> str:
    """The run's key in summary.json: its run directory's name, the teacher alone `teacher`."""
    return reported_run(run).summary_key


def headline_column(task: str) -> str:
    """The results-table column of the task's selection metric on its first dev split."""
    info = TASKS[task]
    split = info.dev_splits[0].name
    return next(label for label, _, column_split, metric in columns([task])
                if column_split == split and metric == info.selection_metric)


def summary(metrics_dir: Path, runs: list[str], tasks: list[str]) -> dict:
    """{run key: {"avg": .., task: ..}} for `runs` (finetune-teacher and method ids), in their
    order, on `tasks` in the table's order; every metrics_dir/RUN/TASK.json must exist."""
    for run in runs:
        for task in tasks:
            path = metrics_dir / run / f"{task}.json"
            if not path.is_file():
                raise InputError(f"{path}: missing; the evaluate stage writes one per run and task of `tasks`")
    frame = results_frame(metrics_dir, runs, tasks)  # already x100 and rounded to 0.1
    ordered = list(dict.fromkeys(task for _, task, *_ in columns(tasks)))
    result = {}
    for run in runs:
        row = frame.loc[run_label(run)]
        # float(): numpy's floats are not JSON.
        result[summary_key(run)] = {"avg": float(row[AVERAGE]),
                                    **{task: float(row[headline_column(task)]) for task in ordered}}
    return result
