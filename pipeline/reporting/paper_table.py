"""The paper's comparison table, from the runs of every finished experiment
(pipeline/reporting/experiments.py), with seeds and significance.

Per held-out mode (`held_out.source`), rows: the teacher alone, the ten baselines, LGTM, LGTM
in its fast mode (`lgtm.mode: fast`) and the student alone; columns: on GLUE's data the paper's
(always present), their average, then every other trained task's; on other data its own
columns, then their average. The protocol:
- a row of a mode is one configuration, its newest run's: older runs of other params (another
  commit's defaults, another `-S lgtm.radius`) are left out, so that seeds are never mixed;
- per (mode, row, task) the student learning rate of the grid is, of the rates run on the most
  seeds, the one with the best mean selection score over its seeds (ties: the smaller rate), so
  that a rate a grid has begun, one seed in, is not chosen on that seed's luck; the teacher
  alone trains at its own rate, so its runs are pooled by seed;
- a cell is the mean ± sample std (ddof 1) over the kept rate's seeds, x100; the test table
  (the synthetic data's true labels) takes the same kept rates;
- Avg is the mean of the row's paper columns (on other data than GLUE's, which has none of
  them, of its own columns); its ± is the std of the per-seed averages of the seeds that have
  all of them;
- each row but the teacher is compared with LGTM by a paired two-sided t-test over the seeds
  both have (scipy.stats.ttest_rel); a cell is marked where p < 0.05, ↓ below LGTM, ↑ above.

pipeline/reporting/paper_report.py writes the tables; pipeline/reporting/published.py reads the
published numbers shown beside them.
"""

from __future__ import annotations

import statistics
import warnings
from collections import defaultdict
from dataclasses import dataclass, replace

from pipeline.errors import InputError
from pipeline.glue.tasks import TASKS
from pipeline.methods.registry import METHODS
from pipeline.reporting.experiments import RunRecord
from pipeline.reporting.results_table import GLUE_SOURCES, PAPER_TASKS, columns, every_column, is_paper_task
from pipeline.settings.runs import reported_run, reported_runs, run_label

LGTM, LGTM_FAST = "lgtm", "lgtm-fast"


def _rows() -> tuple[str, ...]:
    """The teacher, the methods with a teacher in the registry's order (LGTM's fast mode after
    LGTM), then the lower bound: the methods without one."""
    runs = reported_runs(list(METHODS))
    teachers = [run for run in runs if not reported_run(run).at_student_rate]
    distilled = [run for run in runs if run not in teachers and METHODS[run].teacher != "none"]
    alone = [run for run in runs if run not in teachers and METHODS[run].teacher == "none"]
    with_fast = [row for name in distilled for row in ((name, LGTM_FAST) if name == LGTM else (name,))]
    return (*teachers, *with_fast, *alone)


ROWS = _rows()  # the table's rows, in order
TEACHER_ROWS = tuple(row for row in ROWS if row != LGTM_FAST and not reported_run(row).at_student_rate)
AVG, P_AVG = "Avg", "p (Avg)"
SPLITS = ("dev", "test")
MODES = ("dev", "train_slice")  # held_out.source, in this order; any other after them
SIGNIFICANCE = 0.05
BELOW, ABOVE = "↓", "↑"  # on a row's cell: significantly below / above LGTM's


def row_of(record: RunRecord) -> str:
    return LGTM_FAST if record.run == LGTM and record.lgtm_mode == "fast" else record.run


def row_label(row: str) -> str:
    return "LGTM (fast)" if row == LGTM_FAST else run_label(row)


def column_spec(tasks, source: str = "hub") -> list[tuple[str, str, str, str]]:
    """(label, task, dev split, metric): on GLUE's data the paper's columns always, then those of
    the other `tasks`; on other data (`source`, data.source) only its own, named after it: RT
    polarity, not SST-2."""
    paper = [task for task in PAPER_TASKS if is_paper_task(task, source)] if source in GLUE_SOURCES else []
    return columns(paper + [task for task in tasks if task not in paper], source)


def paper_labels() -> set[str]:
    """The labels of the paper's columns on GLUE's data."""
    return {label for label, task, *_ in columns(list(TASKS)) if task in PAPER_TASKS}


def averaged_labels(spec, source: str) -> list[str]:
    """The columns Avg is the mean of: the paper's on GLUE's data; on other data, which has none
    of them, the table's own."""
    if source not in GLUE_SOURCES:
        return [label for label, *_ in spec]
    return [label for label, task, *_ in spec if is_paper_task(task, source)]


def column_order(labels, averaged=None) -> list[str]:
    """`labels` in the table's order: the averaged columns (by default the paper's), Avg, then
    the others."""
    if averaged is None:
        averaged = paper_labels()
    every = [label for label, *_ in every_column()]
    ordered = [label for label in every if label in labels]
    return ([label for label in ordered if label in averaged] + [AVG]
            + [label for label in ordered if label not in averaged])


# --- which runs: one preset, one configuration per row ---

def current_runs(records: list[RunRecord], preset: str) -> list[RunRecord]:
    """The records of `preset` (newest first, as experiments.records_from_exp_show gives them),
    each (held-out mode, row) in the configuration of its newest record."""
    newest: dict[tuple[str, str], str] = {}
    kept = []
    for record in records:
        if record.preset != preset:
            continue
        config = newest.setdefault((record.held_out, row_of(record)), record.config)
        if record.config == config:
            kept.append(record)
    return kept


def at_learning_rate(records: list[RunRecord], rate: float) -> list[RunRecord]:
    """The runs at the student learning rate `rate`, and the teacher alone's (at its own rate):
    the table of one rate of a grid."""
    return [record for record in records
            if not reported_run(record.run).at_student_rate or record.learning_rate == rate]


def kept_learning_rates(records: list[RunRecord]) -> dict[tuple[str, str, str], float]:
    """(held-out mode, row, task) -> of the student learning rates run on the most seeds, the
    one with the best mean selection score over them; ties: the smaller rate. The teacher alone
    has none."""
    scores: dict[tuple, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        if reported_run(record.run).at_student_rate:
            scores[record.held_out, row_of(record), record.task][record.learning_rate].append(record.selection_score)
    return {key: max(by_rate, key=lambda rate: (len(by_rate[rate]), statistics.fmean(by_rate[rate]), -rate))
            for key, by_rate in scores.items()}


# --- the cells ---

@dataclass(frozen=True)
class Cell:
    mean: float
    std: float | None  # None: a single seed
    seeds: dict[int, float]  # seed -> score x100 (Avg: the per-seed averages of complete seeds)
    learning_rate: float | None = None  # the kept student rate (None: the teacher alone, Avg)
    p_value: float | None = None  # LGTM against this row; None: no test (LGTM itself, n < 2)
    direction: str = ""  # BELOW or ABOVE where p < SIGNIFICANCE

    @classmethod
    def of(cls, seeds: dict[int, float], learning_rate: float | None = None, mean: float | None = None) -> Cell:
        values = list(seeds.values())
        std = statistics.stdev(values) if len(values) > 1 else None
        return cls(statistics.fmean(values) if mean is None else mean, std, seeds, learning_rate)


@dataclass(frozen=True)
class Table:
    held_out: str
    split: str  # dev or test
    columns: list[str]  # in column_order
    cells: dict[str, dict[str, Cell]]  # row -> column -> cell; rows in ROWS order, only those that ran
    runs: int  # runs of this held-out mode (every rate), and the experiments they came from
    experiments: int


def split_score(metrics: dict, split: str, dev_split: str, metric: str) -> float | None:
    """A run's score on a dev split, or on its test split (dev -> test, dev_matched -> test_matched)."""
    scores = metrics.get("dev") if split == "dev" else metrics.get("test")
    name = dev_split if split == "dev" else dev_split.replace("dev", "test", 1)
    return ((scores or {}).get(name) or {}).get(metric)


def seed_scores(records, kept, held_out: str, split: str, spec) -> dict[str, dict[str, dict[int, float]]]:
    """row -> column -> seed -> score x100, at each (row, task)'s kept rate."""
    found: dict[str, dict[str, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    for record in records:
        row = row_of(record)
        if record.held_out != held_out or (reported_run(record.run).at_student_rate
                                           and record.learning_rate != kept[held_out, row, record.task]):
            continue
        for label, task, dev_split, metric in spec:
            score = split_score(record.metrics, split, dev_split, metric) if task == record.task else None
            if score is not None:
                found[row][label][record.seed] = 100 * score
    return found


def per_seed_average(by_column: dict[str, dict[int, float]], labels: list[str]) -> dict[int, float]:
    """seed -> the mean over `labels`, for the seeds that have every one of them."""
    if not labels:
        return {}
    seeds = set.intersection(*(set(by_column[label]) for label in labels))
    return {seed: statistics.fmean(by_column[label][seed] for label in labels) for seed in sorted(seeds)}


def row_cells(by_column, averaged, rates: dict[str, float | None], spec) -> dict[str, Cell]:
    cells = {label: Cell.of(seeds, rates[task]) for label, task, *_ in spec if (seeds := by_column.get(label))}
    present = [label for label in averaged if label in cells]
    if present:
        cells[AVG] = Cell.of(per_seed_average(by_column, present),
                             mean=statistics.fmean(cells[label].mean for label in present))
    return cells


def paired_test(row_values: list[float], lgtm_values: list[float]) -> tuple[float | None, str]:
    """(p, direction) of LGTM against a row over paired seeds; (None, "") for fewer than two
    pairs. p is nan where the two are equal at every seed."""
    if len(row_values) < 2:
        return None, ""
    from scipy.stats import ttest_rel

    with warnings.catch_warnings():  # equal or constant differences: nan or 0, said in the table
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(ttest_rel(lgtm_values, row_values).pvalue)
    if not p < SIGNIFICANCE:
        return p, ""
    return p, BELOW if statistics.fmean(row_values) < statistics.fmean(lgtm_values) else ABOVE


def compare_with_lgtm(cells: dict[str, dict[str, Cell]], by_row, averaged) -> dict[str, dict[str, Cell]]:
    """Each row's cells (not LGTM's, not the teacher's) with LGTM's paired test against them.
    Avg pairs the per-seed averages of the paper columns both rows have."""
    if LGTM not in cells:
        return cells
    compared = dict(cells)
    for row in cells:
        if row == LGTM or row in TEACHER_ROWS:
            continue
        common = [label for label in averaged if label in cells[row] and label in cells[LGTM]]
        tested = {}
        for label, cell in cells[row].items():
            if label == AVG:
                own, lgtm = per_seed_average(by_row[row], common), per_seed_average(by_row[LGTM], common)
            elif label in cells[LGTM]:
                own, lgtm = cell.seeds, cells[LGTM][label].seeds
            else:
                own, lgtm = {}, {}
            seeds = sorted(set(own) & set(lgtm))
            p, direction = paired_test([own[s] for s in seeds], [lgtm[s] for s in seeds])
            tested[label] = replace(cell, p_value=p, direction=direction)
        compared[row] = tested
    return compared


def held_out_modes(records) -> list[str]:
    found = {record.held_out for record in records}
    return [mode for mode in MODES if mode in found] + sorted(found - set(MODES))


def build_tables(records: list[RunRecord]) -> list[Table]:
    """The dev and (where test scores exist) test table of each held-out mode of `records`
    (one preset, one configuration per row: current_runs)."""
    sources = {record.data_source for record in records}
    if len(sources) > 1:
        raise InputError(f"the runs of one table read different data ({', '.join(sorted(sources))}); "
                         "a table compares runs on the same data")
    source = sources.pop() if sources else "hub"
    spec = column_spec({record.task for record in records}, source)
    averaged = averaged_labels(spec, source)
    labels = column_order([label for label, *_ in spec], averaged)
    kept = kept_learning_rates(records)
    tables = []
    for held_out in held_out_modes(records):
        mode_records = [record for record in records if record.held_out == held_out]
        for split in SPLITS:
            by_row = seed_scores(mode_records, kept, held_out, split, spec)
            if not by_row:
                continue
            cells = {}
            for row in (row for row in ROWS if row in by_row):
                rates = {task: kept.get((held_out, row, task)) for task in TASKS}
                cells[row] = row_cells(by_row[row], averaged, rates, spec)
            tables.append(Table(held_out, split, labels, compare_with_lgtm(cells, by_row, averaged),
                                runs=len(mode_records),
                                experiments=len({record.experiment for record in mode_records})))
    return tables
