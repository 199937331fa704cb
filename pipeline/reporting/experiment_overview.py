"""Experiments side by side in a terminal: one column per experiment, one row per param that
differs between them and per run's average (metrics/summary.json's `avg`).

`dvc exp show` gives every param and metric a column of its own: over a thousand columns on
the demo, which a terminal shows as a row of `…`. Turned this way, the table grows by a
narrow column per experiment instead, and leads with what was changed.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.reporting.experiments import FINISHED, finished_states

SUMMARY = "metrics/summary.json"
MISSING = "-"
Rows = list[tuple[str, list[str]]]  # (label, one cell per experiment)


def flatten(tree: dict, prefix: str = "") -> Iterator[tuple[str, object]]:
    """(dotted key, value) of every leaf of a params tree; a list is one leaf."""
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _params(data: dict) -> dict[str, object]:
    return dict(flatten(((data.get("params") or {}).get("params.yaml") or {}).get("data") or {}))


def _averages(data: dict) -> dict[str, float]:
    summary = ((data.get("metrics") or {}).get(SUMMARY) or {}).get("data") or {}
    return {run: scores["avg"] for run, scores in summary.items() if isinstance(scores, dict) and "avg" in scores}


def _score(value: float | None) -> str:
    return MISSING if value is None else f"{value:.1f}"  # as the results table: x100, one decimal


def _text(value: object) -> str:
    if value is None:
        return MISSING
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def overview_rows(entries: list[dict]) -> tuple[list[str], Rows, Rows]:
    """(experiment names, param rows, average rows) of `dvc exp show --json` output: the params
    whose values differ between the finished experiments (the workspace and commits included),
    and each run's average, in the summary's order."""
    states = list(finished_states(entries))
    names = [name for name, _, _ in states]
    params = [_params(data) for _, _, data in states]
    averages = [_averages(data) for _, _, data in states]
    keys = list(dict.fromkeys(key for state in params for key in state))
    changed = [(key, [_text(state.get(key)) for state in params]) for key in keys
               if len({_text(state.get(key)) for state in params}) > 1]
    runs = list(dict.fromkeys(run for state in averages for run in state))
    return names, changed, [(f"{run} avg", [_score(state.get(run)) for state in averages]) for run in runs]


def unfinished(entries: list[dict]) -> list[str]:
    """`name (state)` of every experiment left out because it is queued, running or failed."""
    left_out = []
    for entry in entries:
        for experiment in entry.get("experiments") or []:
            state = (experiment.get("executor") or {}).get("state")
            if state and state != FINISHED:
                left_out.append(f"{experiment.get('name') or experiment['revs'][0]['rev'][:7]} ({state})")
    return left_out


def render(names: list[str], rows: Rows) -> str:
    """A plain-text table, columns padded to their widest cell."""
    table = [["", *names], *[[label, *cells] for label, cells in rows]]
    widths = [max(len(line[column]) for line in table) for column in range(len(table[0]))]
    lines = ["  ".join(cell.ljust(width) if column == 0 else cell.rjust(width)
                       for column, (cell, width) in enumerate(zip(line, widths))).rstrip()
             for line in table]
    return "\n".join(lines)
