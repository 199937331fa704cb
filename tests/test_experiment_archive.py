"""The experiment archive: a saved `dvc exp show --json` that outlives the clone whose DVC
experiments it holds, so that a grid goes on in another clone (stages/tools/compare.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

import pipeline.reporting.experiments as experiments
from pipeline.errors import InputError
from pipeline.reporting.experiments import archived, finished_params, records_from_exp_show
from stages.tools import compare

REPO = Path(__file__).resolve().parents[1]
SAVED = REPO / "docs/results/real/exp_show.json"


def experiment(commit: str, seed: int, state: str | None = None) -> dict:
    """An experiment entry as `dvc exp show --json` prints it, its params reduced to a seed."""
    data = {"timestamp": "2026-12-07T20:00:00", "params": {"params.yaml": {"data": {"seed": seed}}}}
    return {"executor": state and {"state": state}, "name": f"exp-{commit}",
            "revs": [{"rev": commit, "name": f"exp-{commit}", "data": data, "error": None, "experiments": None}]}


def commit(rev: str, *experiments_of_it: dict) -> dict:
    return {"rev": rev, "name": "main", "data": {"timestamp": None}, "error": None,
            "experiments": list(experiments_of_it) or None}


def commits_of(entries: list[dict]) -> dict[str, list[str]]:
    return {entry["rev"]: [each["revs"][0]["rev"] for each in entry["experiments"] or []] for entry in entries}


def test_the_archive_adds_the_finished_experiments_and_keeps_what_it_had():
    kept = [commit("workspace"), commit("c1", experiment("a", 1), experiment("b", 2))]
    rerun_of_a = experiment("a", 99)  # the same experiment commit seen again: the kept one stays
    live = [commit("workspace", experiment("w", 5)),
            commit("c1", rerun_of_a, experiment("c", 3), experiment("d", 4, "running"), experiment("e", 6, "failed")),
            commit("c2", experiment("f", 7, "success"))]
    before = copy.deepcopy((kept, live))
    merged = archived(kept, live)
    assert commits_of(merged) == {"workspace": [], "c1": ["a", "b", "c"], "c2": ["f"]}
    assert sorted(params["seed"] for params in finished_params(merged)) == [1, 2, 3, 7]
    assert (kept, live) == before  # a new list: neither input changed
    # Merging again adds nothing: a rerun of the tool after a kill rewrites the same archive.
    assert archived(merged, live) == merged


def test_a_commit_with_no_finished_experiment_is_not_archived():
    """A fresh clone's own commit adds nothing until a point finishes from it; a kept one stays."""
    kept = [commit("c1")]
    live = [commit("workspace"), commit("c1"), commit("c2", experiment("r", 1, "running")), commit("c3")]
    assert commits_of(archived(kept, live)) == {"c1": []}
    assert commits_of(archived([], live + [commit("c4", experiment("s", 2))])) == {"c4": ["s"]}


def test_an_experiment_with_no_data_is_not_archived():
    empty = experiment("g", 8)
    empty["revs"][0]["data"] = None
    assert commits_of(archived([commit("c1")], [commit("c1", empty)])) == {"c1": []}


def test_the_saved_headline_grid_survives_a_merge_with_a_fresh_clone():
    saved = json.loads(SAVED.read_text(encoding="utf-8"))
    fresh_clone = [commit("workspace"), commit("c9")]  # no experiment of its own yet
    merged = archived(saved, fresh_clone)
    assert len(records_from_exp_show(merged)) == len(records_from_exp_show(saved)) > 0


def test_compare_counts_the_archives_points_as_done_and_keeps_it_up_to_date(tmp_path, monkeypatch, capsys):
    archive = tmp_path / "grid.json"
    archive.write_text(SAVED.read_text(encoding="utf-8"), encoding="utf-8")
    live = [commit("workspace"), commit("c9", experiment("new", 1))]
    monkeypatch.setattr(experiments, "exp_show", lambda repo, all_commits=False: live)

    compare.main(preset="real", dry_run=True, limit=None, seed=[], learning_rate=[3e-4], held_out=[],
                 lgtm_mode=["faithful"], archive=archive)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and all(line.startswith("done") for line in lines)
    assert archive.read_text(encoding="utf-8") == SAVED.read_text(encoding="utf-8")  # a dry run writes nothing

    compare._experiments(archive)
    assert commits_of(json.loads(archive.read_text(encoding="utf-8")))["c9"] == ["new"]

    compare.main(preset="real", dry_run=True, limit=None, seed=[], learning_rate=[3e-4], held_out=[],
                 lgtm_mode=["faithful"], archive=None)
    assert all(line.startswith("to run") for line in capsys.readouterr().out.splitlines())


def test_a_garbled_archive_is_refused_naming_the_file(tmp_path, monkeypatch):
    archive = tmp_path / "grid.json"
    archive.write_text("{not json", encoding="utf-8")
    monkeypatch.setattr(experiments, "exp_show", lambda repo, all_commits=False: [])
    with pytest.raises(InputError, match="grid.json"):
        compare._experiments(archive)
    assert archive.read_text(encoding="utf-8") == "{not json"
