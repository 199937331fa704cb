"""Every finished run of the DVC experiments of the current commit, as records, from
`dvc exp show --json` (`--all-commits`: of every commit).

A record is one (experiment, run, task): the params the paper table groups by (preset,
held-out source, seed, student learning rate, LGTM's mode), a fingerprint of the other params
that decide the run's results, and the run's metrics file (metrics/RUN/TASK.json, as the
evaluate stage writes it). The workspace and every commit count as experiments too.

Read from DVC's nested JSON (`dvc.api.exp_show` flattens each metrics file into one column per
number, and its lists into strings). What is left out:
- experiments that did not finish: queued, running or failed (a failed one still lists the
  metrics files it started from), and any state DVC reports with an error;
- the workspace where `dvc status` finds a stage out of date (its metrics may be another
  run's than its params say), when the caller says so (workspace_is_current);
- metrics files of another layout (older commits: metrics/TASK/RUN.json), metrics/summary.json,
  and files whose selection split is not the params' `held_out.source`;
- duplicates: the same run (preset, held-out source, run, task, seed, learning rate and
  fingerprint) found in several experiments counts once, the newest (the workspace first).
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import InputError
from pipeline.glue.tasks import TASKS
from pipeline.methods.registry import METHODS
from pipeline.settings.runs import reported_run

log = logging.getLogger(__name__)

METRICS_FILE = re.compile(r"^metrics/(?P<run>[^/]+)/(?P<task>[^/]+)\.json$")
# Params that are a record's own fields, or change no run's results (workers and checkpoints
# change no byte: docs/reproducibility.md, docs/reliability.md; processes change them by float
# rounding, and runs of any launch are pooled: docs/parallel.md; `tasks` and `methods` only
# say which runs exist).
# `compare` is the grid the runs belong to, which no stage reads: a grid extended by a rate
# keeps the runs it already has in the same configuration.
PROTOCOL_KEYS = ("seed", "preset", "tasks", "methods", "hub_timeout_s", "launch", "compare")
# An experiment that finished: DVC gives it no executor, or one in this state.
FINISHED = "success"


@dataclass(frozen=True)
class RunRecord:
    experiment: str  # "workspace", a commit's branch or short hash, or the experiment's name
    run: str  # the run directory: finetune-teacher or a method
    task: str
    preset: str
    held_out: str  # held_out.source: dev or train_slice
    seed: int
    learning_rate: float  # train.learning_rate: the student's
    lgtm_mode: str | None  # lgtm.mode: faithful or fast (None where params have no lgtm section)
    config: str  # every other param that decides this run's results, as canonical JSON
    metrics: dict = field(compare=False, repr=False)
    data_source: str = "hub"  # data.source: where the task's rows came from (GLUE's, or another data set)

    @property
    def selection_score(self) -> float:
        """The score the kept checkpoint was chosen on (its held-out split's selection metric)."""
        selection = self.metrics["selection"]
        return selection["best"][selection["selection_metric"]]


def exp_show(repo: Path, all_commits: bool = False) -> list[dict]:
    """`dvc exp show --json` in `repo`, parsed: the workspace, the current commit and its
    experiments; with `all_commits`, every commit's (tens of seconds on a long history).

    Experiments of other commits ran other code, or on other data, whatever their params say:
    pooling them is for when the commits between changed neither."""
    command = [sys.executable, "-m", "dvc", "exp", "show", "--json"] + (["--all-commits"] if all_commits else [])
    result = subprocess.run(command, cwd=repo, capture_output=True, text=True)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
        raise InputError(f"{repo}: `dvc exp show` failed ({lines[-1]}); expected a DVC repository")
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError as error:
        raise InputError(f"{repo}: `dvc exp show --json` printed no JSON ({error})") from None


def read_exp_show(path: Path) -> list[dict]:
    """A saved `dvc exp show --json` output, parsed."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(f"{path}: {error}; expected the output of `dvc exp show --json`") from None


def archived(kept: list[dict], live: list[dict]) -> list[dict]:
    """The saved `dvc exp show --json` entries `kept` with the commits and finished experiments
    of `live` (another `dvc exp show --json`) added, as a new list: a file that outlives the
    clone whose `refs/exps` held the experiments, and that a later grid, in another clone,
    counts as done and adds to.

    An experiment is known by its commit (the first of its `revs`); one already kept stays as
    it was. Left out of `live`: the workspace (its metrics may be no finished experiment's),
    every experiment not finished (queued, running, failed), and a commit none finished from."""
    merged = [dict(entry, experiments=list(entry.get("experiments") or [])) for entry in kept]
    by_rev = {entry["rev"]: entry for entry in merged}
    for entry in live:
        if entry["rev"] == "workspace":
            continue
        finished = [experiment for experiment in entry.get("experiments") or [] if _finished(experiment)
                    and any(map(_has_results, experiment["revs"]))]
        if entry["rev"] not in by_rev:
            if not finished:
                continue  # a commit no finished point came from: its own metrics are no grid's
            by_rev[entry["rev"]] = dict(entry, experiments=[])
            merged.append(by_rev[entry["rev"]])
        target = by_rev[entry["rev"]]["experiments"]
        known = {_commit(experiment) for experiment in target}
        target += [experiment for experiment in finished if _commit(experiment) not in known]
    return merged


def _finished(experiment: dict) -> bool:
    """Whether DVC ran the experiment to its end: no executor left, or one that succeeded."""
    executor = experiment.get("executor")
    return not executor or executor.get("state") == FINISHED


def _has_results(state: dict) -> bool:
    """Whether one of an experiment's `revs` carries params and metrics (not an error)."""
    return not state.get("error") and bool(state.get("data"))


def _commit(experiment: dict) -> str:
    return experiment["revs"][0]["rev"]


def workspace_is_current(repo: Path) -> bool:
    """Whether `dvc status` finds every stage up to date. Otherwise the workspace's metrics may
    be another run's than its params say: an `dvc exp run` in progress or failed, params edited
    and not reproduced."""
    result = subprocess.run([sys.executable, "-m", "dvc", "status", "--json"], cwd=repo, capture_output=True, text=True)
    try:
        return result.returncode == 0 and json.loads(result.stdout) == {}
    except json.JSONDecodeError:
        return False


def run_config(params: dict, run: str) -> str:
    """The params that decide `run`'s results besides the record's own fields, as canonical JSON:
    all but PROTOCOL_KEYS, the student's learning rate, the held-out source and the sections of
    other methods (`-S lgtm.radius=0.1` leaves KD's runs what they were)."""
    config = {key: value for key, value in params.items()
              if key not in PROTOCOL_KEYS and (key not in METHODS or key == run)}
    config["train"] = {key: value for key, value in config.get("train", {}).items() if key != "learning_rate"}
    config["held_out"] = {key: value for key, value in config.get("held_out", {}).items() if key != "source"}
    return json.dumps(config, sort_keys=True)


def finished_states(entries: list[dict], workspace: bool = True) -> Iterator[tuple[str, str | None, dict]]:
    """(experiment name, timestamp, data) of the workspace (unless `workspace` is false), each
    commit and each finished experiment of `dvc exp show --json` output."""
    for entry in entries:
        if not entry.get("error") and entry.get("data") and (workspace or entry["rev"] != "workspace"):
            name = "workspace" if entry["rev"] == "workspace" else entry.get("name") or entry["rev"][:7]
            yield name, entry["data"].get("timestamp"), entry["data"]
        for experiment in entry.get("experiments") or []:
            if not _finished(experiment):
                continue
            for state in experiment["revs"]:
                if _has_results(state):
                    yield state.get("name") or state["rev"][:7], state["data"].get("timestamp"), state["data"]


def finished_params(entries: list[dict]) -> list[dict]:
    """The params.yaml of every finished experiment and commit (not the workspace)."""
    return [data["params"]["params.yaml"]["data"] for _, _, data in finished_states(entries, workspace=False)
            if "params.yaml" in (data.get("params") or {})]


def state_records(name: str, data: dict) -> list[RunRecord]:
    """The records of one experiment's params and metrics files (none where its params lack a
    key the table needs, as an old commit's may)."""
    params = data.get("params", {}).get("params.yaml", {}).get("data")
    try:
        held_out = params["held_out"]["source"]
        fields = dict(experiment=name, preset=params["preset"], held_out=held_out, seed=int(params["seed"]),
                      learning_rate=float(params["train"]["learning_rate"]),
                      lgtm_mode=(params.get("lgtm") or {}).get("mode"),
                      data_source=(params.get("data") or {}).get("source", "hub"))
    except (KeyError, TypeError, ValueError):
        return []
    records = []
    for path, content in (data.get("metrics") or {}).items():
        match = METRICS_FILE.match(path)
        metrics = content.get("data")
        if not match or content.get("error") or not isinstance(metrics, dict):
            continue
        run, task = match["run"], match["task"]
        if reported_run(run) is None or task not in TASKS:
            continue
        selection = metrics.get("selection") or {}
        if "dev" not in metrics or selection.get("held_out") != held_out or "best" not in selection:
            continue
        records.append(RunRecord(run=run, task=task, config=run_config(params, run), metrics=metrics, **fields))
    return records


def dedup_key(record: RunRecord) -> tuple:
    """What makes two records the same run. The teacher alone trains at the teacher's rate: the
    student's rate is no part of its run."""
    rate = record.learning_rate if reported_run(record.run).at_student_rate else None
    return record.preset, record.held_out, record.run, record.task, record.seed, rate, record.config


def records_from_exp_show(entries: list[dict], workspace: bool = True) -> list[RunRecord]:
    """Every distinct run of the finished experiments, newest first (the workspace first, unless
    `workspace` is false, then by timestamp): of duplicates, the newest is kept."""
    states = sorted(finished_states(entries, workspace), key=lambda state: state[1] or "~", reverse=True)
    kept: dict[tuple, RunRecord] = {}
    found = 0
    for name, _, data in states:
        for record in state_records(name, data):
            found += 1
            kept.setdefault(dedup_key(record), record)
    log.info("%d runs in %d finished experiments (commits, and the workspace unless left out), %d distinct",
             found, len(states), len(kept))
    return list(kept.values())
