"""`python -m stages experiments`: each experiment's changed params and each run's average, one
narrow column per experiment (pipeline/reporting/experiment_overview.py)."""

from __future__ import annotations

import json

from conftest import REPO

from pipeline.reporting.experiment_overview import overview_rows, render, unfinished
from stages.tools import experiments

EXP_SHOW = REPO / "tests/data/exp_show.json"


def state(rev: str, name: str | None, params: dict, averages: dict | None) -> dict:
    metrics = {} if averages is None else {
        "metrics/summary.json": {"data": {run: {"avg": avg, "rte": avg} for run, avg in averages.items()}}}
    return {"rev": rev, "name": name, "error": None,
            "data": {"timestamp": None, "params": {"params.yaml": {"data": params}}, "metrics": metrics}}


def entries(experiments_of_main: list[dict]) -> list[dict]:
    base = {"seed": 42, "train": {"learning_rate": 0.001, "epochs": 1.0}, "tasks": ["rte", "mrpc"]}
    workspace = state("workspace", None, base, {"kd": 71.0, "lgtm": 78.5})
    main = state("f" * 40, "main", base, {"kd": 71.0, "lgtm": 78.5})
    main["experiments"] = experiments_of_main
    return [workspace, main]


def experiment(name: str, params: dict, averages: dict | None, executor_state: str | None = None) -> dict:
    executor = None if executor_state is None else {"state": executor_state}
    return {"name": name, "executor": executor, "revs": [state("a" * 40, name, params, averages)]}


def test_a_fresh_clone_shows_the_averages_and_says_nothing_differs():
    names, changed, averages = overview_rows(entries([]))
    assert names == ["workspace", "main"] and changed == []
    assert averages == [("kd avg", ["71.0", "71.0"]), ("lgtm avg", ["78.5", "78.5"])]


def test_an_experiment_brings_its_changed_params_and_its_averages():
    changed_params = {"seed": 1, "train": {"learning_rate": 0.002, "epochs": 1.0}, "tasks": ["rte", "mrpc"]}
    names, changed, averages = overview_rows(entries([experiment("lr2", changed_params, {"kd": 70.0, "lgtm": 80.25})]))
    assert names == ["workspace", "main", "lr2"]
    assert changed == [("seed", ["42", "42", "1"]), ("train.learning_rate", ["0.001", "0.001", "0.002"])]
    assert averages == [("kd avg", ["71.0", "71.0", "70.0"]), ("lgtm avg", ["78.5", "78.5", "80.2"])]


def test_unfinished_experiments_are_named_not_shown():
    shown = entries([experiment("queued-one", {"seed": 3}, None, "queued"),
                     experiment("broken", {"seed": 4}, {"kd": 1.0}, "failed")])
    names, _, _ = overview_rows(shown)
    assert names == ["workspace", "main"]
    assert unfinished(shown) == ["queued-one (queued)", "broken (failed)"]


def test_a_run_missing_from_an_experiment_is_a_dash():
    names, _, averages = overview_rows(entries([experiment("kd-only", {"seed": 42}, {"kd": 65.0})]))
    assert dict(averages)["lgtm avg"] == ["78.5", "78.5", "-"]


def test_the_rendered_table_is_aligned_and_narrow():
    text = render(*[["workspace", "exp"], [("seed", ["42", "1"]), ("metadistil avg", ["83.9", "80.0"])]])
    lines = text.splitlines()
    assert lines[0] == "                workspace   exp"
    assert lines[2] == "metadistil avg       83.9  80.0"
    # The saved output of a real grid: seven experiments fit in 120 columns.
    names, changed, averages = overview_rows(json.loads(EXP_SHOW.read_text()))
    assert len(names) == 7 and max(map(len, render(names, changed + averages).splitlines())) <= 120


def test_the_command_prints_the_table_and_what_did_not_finish(capsys):
    experiments.main(exp_show_file=EXP_SHOW)
    out = capsys.readouterr().out
    assert out.splitlines()[1].startswith("seed ") and "not finished, not shown: queued (queued), broken (failed)" in out
