"""The comparison table's files: markdown (the tables of each held-out mode, the published
numbers, footnotes), a long CSV, the dev tables in LaTeX (booktabs) and a figure of the dev
scores (pipeline/reporting/paper_table.py makes the tables)."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from pipeline.atomic import atomic_path, write_text
from pipeline.reporting.paper_table import (
    ABOVE,
    AVG,
    BELOW,
    LGTM,
    LGTM_FAST,
    P_AVG,
    SIGNIFICANCE,
    Cell,
    Table,
    column_order,
    paper_labels,
    row_label,
)
from pipeline.reporting.published import SPLIT_NAMES, PublishedRow, glue_labels
from pipeline.reporting.results_table import every_column
from pipeline.reporting.room_checks import RoomCheck


def number(value: float) -> str:
    return f"{value:.1f}"


def cell_text(cell: Cell | None, tex: bool = False) -> str:
    if cell is None:
        return ""
    text = number(cell.mean)
    if cell.std is not None:
        text += f" $\\pm$ {number(cell.std)}" if tex else f" ± {number(cell.std)}"
    if cell.direction:
        text += {BELOW: "$^\\downarrow$", ABOVE: "$^\\uparrow$"}[cell.direction] if tex else cell.direction
    return text


def p_text(p: float | None) -> str:
    if p is None:
        return ""
    if math.isnan(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def rate_text(rate: float | None) -> str:
    return "" if rate is None else f"{rate:g}"


def markdown_grid(header: list[str], rows: list[list[str]]) -> str:
    align = ["---"] + ["---:"] * (len(header) - 1)
    return "\n".join("| " + " | ".join(cells) + " |" for cells in [header, align, *rows])


def table_rows(table: Table, tex: bool = False) -> list[list[str]]:
    return [[row_label(row)] + [cell_text(cells.get(label), tex) for label in table.columns]
            + [p_text(cells[AVG].p_value) if AVG in cells else ""] for row, cells in table.cells.items()]


def gap_markdown(dev: Table, test: Table) -> str:
    rows = []
    for row, cells in dev.cells.items():
        if AVG in cells and AVG in test.cells.get(row, {}):
            dev_avg, test_avg = cells[AVG].mean, test.cells[row][AVG].mean
            rows.append([row_label(row), number(dev_avg), number(test_avg), f"{dev_avg - test_avg:+.1f}"])
    return markdown_grid(["", "dev Avg", "test Avg", "dev − test"], rows)


def seeds_markdown(table: Table) -> str:
    """Per row: its seeds, and the kept student learning rate of each task."""
    task_of = {label: task for label, task, *_ in every_column()}
    tasks = list(dict.fromkeys(task_of[label] for label in table.columns
                               if any(label in cells for cells in table.cells.values()) and label != AVG))
    rows = []
    for row, cells in table.cells.items():
        measured = {label: cell for label, cell in cells.items() if label != AVG}
        seeds = sorted({seed for cell in measured.values() for seed in cell.seeds})
        rates = {task_of[label]: cell.learning_rate for label, cell in measured.items()}
        rows.append([row_label(row), str(len(seeds)), ", ".join(map(str, seeds))]
                    + [rate_text(rates[task]) if task in rates else "" for task in tasks])
    return markdown_grid(["", "seeds", "which", *(f"rate {task}" for task in tasks)], rows)


def published_beside(published: list[PublishedRow], shown: list[str]) -> list[PublishedRow]:
    """The published rows for a table of the `shown` columns: GLUE's beside one of the paper's
    columns, those of other data beside that data's own column."""
    family = glue_labels() if paper_labels() & set(shown) else set(shown) - {AVG}
    return [row for row in published if family & set(row.values)]


def published_markdown(published: list[PublishedRow], shown: list[str]) -> str:
    # The table's averaged columns (before its Avg) stay first, as do the paper's.
    averaged = paper_labels() | set(shown[:shown.index(AVG)] if AVG in shown else [])
    labels = column_order(set(shown) | {label for row in published for label in row.values} - {AVG}, averaged)
    rows, notes = [], {}  # note -> its number: rows of one source share theirs
    for row in published:
        label = f"{row.label} ({SPLIT_NAMES[row.split]})" if row.split in SPLIT_NAMES else row.label
        if row.note:
            label += f" [{notes.setdefault(row.note, len(notes) + 1)}]"
        rows.append([label] + [number(row.values[column]) if column in row.values else "" for column in labels])
    sources = [f"- {row.label}: {row.source}" for row in published]
    footnotes = [f"[{index}] {note}" for note, index in notes.items()]
    return "\n".join([markdown_grid(["", *labels], rows), "", "Sources:", *sources, "", *footnotes]).rstrip()


FOOTNOTE = ("Scores x100: mean ± sample standard deviation (ddof 1) over seeds; one seed shows no ±. "
            "Per row and task, of the student learning rates run on the most seeds, the one with the best mean "
            "selection score is kept; the teacher alone pools its seeds. ↓ / ↑: significantly below / above LGTM "
            f"(paired two-sided t-test over the seeds both rows have, scipy.stats.ttest_rel, p < {SIGNIFICANCE}). "
            "p (Avg): the same test on the per-seed Avg (over the columns both rows have). "
            "Empty p: fewer than two paired seeds; n/a: equal to LGTM at every seed.")


def checks_markdown(checks: list[RoomCheck]) -> str:
    marks = {True: "holds", False: "FAILS", None: "not measured"}
    lines = []
    for check in checks:
        lines += [f"- **{marks[check.holds]}**: {check.claim}", *(f"  - {finding}" for finding in check.findings)]
    return "\n".join(lines)


def markdown_report(tables: list[Table], published: list[PublishedRow], preset: str,
                    checks: list[RoomCheck] = ()) -> str:
    parts = [f"# The paper's table, preset `{preset}`", ""]
    for held_out in dict.fromkeys(table.held_out for table in tables):
        mode = {table.split: table for table in tables if table.held_out == held_out}
        dev = mode.get("dev")
        parts += [f"## Held-out set: `{held_out}`", ""]
        for split, table in mode.items():
            title = "Dev" if split == "dev" else "Test (the true labels the data source keeps beside its test files)"
            parts += [f"### {title}", "", markdown_grid(["", *table.columns, P_AVG], table_rows(table)), ""]
        if dev and "test" in mode:
            parts += ["### dev − test gap", "", gap_markdown(dev, mode["test"]), ""]
        shown = (dev or mode["test"]).columns
        if beside := published_beside(published, shown):
            parts += ["### Published numbers", "", published_markdown(beside, shown), ""]
        table = dev or mode["test"]
        parts += [FOOTNOTE, "",
                  f"Runs: {table.runs}, from {table.experiments} experiment(s) (the workspace and commits "
                  "count as experiments). Seeds, and the kept student learning rate of each task (the teacher "
                  "alone trains at its own):", "", seeds_markdown(table), ""]
    if checks:
        parts += ["## Does the comparison have room?", "", checks_markdown(checks), ""]
    return "\n".join(parts)


CSV_HEADER = ["held_out", "split", "row", "column", "mean", "std", "n_seeds", "kept_learning_rate", "p_value_vs_lgtm"]


def csv_report(tables: list[Table]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for table in tables:
        for row, cells in table.cells.items():
            for label in table.columns:
                if (cell := cells.get(label)) is not None:
                    writer.writerow([table.held_out, table.split, row_label(row), label, f"{cell.mean:.4f}",
                                     "" if cell.std is None else f"{cell.std:.4f}", len(cell.seeds),
                                     rate_text(cell.learning_rate), "" if cell.p_value is None else f"{cell.p_value:.6g}"])
    return out.getvalue()


def tex_escape(text: str) -> str:
    return "".join("\\" + char if char in "&%$#_{}" else char for char in text)


def tex_report(tables: list[Table]) -> str:
    """The dev table of each held-out mode (\\usepackage{booktabs})."""
    parts = ["% The paper's table (python -m stages paper-table); needs \\usepackage{booktabs}."]
    for table in (table for table in tables if table.split == "dev"):
        header = " & ".join(["", *map(tex_escape, table.columns), P_AVG]) + r" \\"
        body = [" & ".join([tex_escape(label), *texts[:-1], texts[-1].replace("<", "$<$")]) + r" \\"
                for label, *texts in table_rows(table, tex=True)]
        parts += ["\\begin{table}[t]", "\\centering", "\\small",
                  f"\\begin{{tabular}}{{l{'r' * (len(table.columns) + 1)}}}", "\\toprule", header, "\\midrule",
                  *body, "\\bottomrule", "\\end{tabular}",
                  f"\\caption{{Dev scores (x100, mean $\\pm$ std over seeds), held-out set: "
                  f"{tex_escape(table.held_out)}. $^\\downarrow$/$^\\uparrow$: significantly below/above LGTM "
                  f"(paired t-test, $p < {SIGNIFICANCE}$).}}", "\\end{table}", ""]
    return "\n".join(parts)


PANELS_PER_LINE = 5
COLOURS = {LGTM: "#d62728", LGTM_FAST: "#f08080"}  # the others grey


def _panels(table: Table) -> list[str]:
    """The columns with scores; Avg only where it averages more than one of them."""
    shown = [label for label in table.columns if any(label in cells for cells in table.cells.values())]
    return shown if len(shown) > 2 else [label for label in shown if label != AVG]


def plot_dev(tables: list[Table], path: Path) -> None:
    """Per dev column (and Avg) a panel: each row's mean with its std as error bar, LGTM in red,
    its fast mode lighter, the others grey; a block of panels per held-out mode."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    blocks = [(table, _panels(table)) for table in tables if table.split == "dev"]
    lines = [math.ceil(len(shown) / PANELS_PER_LINE) for _, shown in blocks]
    per_line = min(PANELS_PER_LINE, max(len(shown) for _, shown in blocks))
    line_height = 0.8 + 0.25 * max(len(table.cells) for table, _ in blocks)
    figure = Figure(figsize=(max(6, 2 + 2 * per_line), line_height * sum(lines) + 0.5 * len(blocks)), layout="constrained")
    FigureCanvasAgg(figure)
    for block, (table, shown), count in zip(figure.subfigures(len(blocks), 1, height_ratios=lines, squeeze=False)[:, 0],
                                            blocks, lines):
        block.suptitle(f"Dev scores x100, held-out set: {table.held_out} (mean ± std over seeds)")
        axes = block.subplots(count, per_line, sharey=True, squeeze=False).ravel()
        rows = list(table.cells)
        for axis, label in zip(axes, shown):
            if (lgtm := table.cells.get(LGTM, {}).get(label)) is not None:
                axis.axvline(lgtm.mean, color=COLOURS[LGTM], alpha=0.3, linestyle="--")
            for position, row in enumerate(rows):
                if (cell := table.cells[row].get(label)) is not None:
                    axis.errorbar(cell.mean, position, xerr=cell.std or 0, fmt="o", capsize=3,
                                  color=COLOURS.get(row, "#888888"))
            axis.set_title(label)
            axis.grid(axis="x", alpha=0.3)
        axes[0].set_yticks(range(len(rows)), [row_label(row) for row in rows])
        axes[0].invert_yaxis()  # the table's order, top to bottom
        for axis in axes[len(shown):]:
            axis.set_visible(False)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100)


def write_reports(tables: list[Table], published: list[PublishedRow], preset: str, directory: Path,
                  checks: list[RoomCheck] = ()) -> dict[str, Path]:
    """reports/paper_table.{md,csv,tex,png}; the markdown ends with `checks`."""
    paths = {suffix: directory / f"paper_table.{suffix}" for suffix in ("md", "csv", "tex", "png")}
    write_text(paths["md"], markdown_report(tables, published, preset, checks))
    write_text(paths["csv"], csv_report(tables))
    write_text(paths["tex"], tex_report(tables))
    plot_dev(tables, paths["png"])
    return paths
