"""The paper table: the experiments' records from `dvc exp show --json`, the protocol (kept
learning rate, mean ± std over seeds, LGTM's paired t-test) against values worked by hand, the
published rows, the four outputs, and the command on a scratch DVC repository.

tests/data/exp_show.json is `dvc exp show --json --all-commits` of a scratch repository (DVC
3.67) whose one stage wrote metrics/RUN/TASK.json from its params, trimmed to five metrics files
per experiment: a baseline commit (seed 42); experiments seed1 (seed 1), seed2-lr (seed 2,
learning rate 1e-3), slice (seed 1, held_out.source train_slice), seed1-again (seed1's params
again), fast (seed 1, lgtm.mode fast; the workspace holds it too); broken (failed, yet listing
the baseline's metrics files) and queued (seed 9, never run). Its scores are
0.6 + i/50 + seed/1000 + 10 · learning rate, i the run's place (teacher 0, finetune 1, lgtm 2,
kd 3), test scores 0.01 lower.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from pipeline.errors import InputError
from pipeline.reporting.experiments import RunRecord, records_from_exp_show, workspace_is_current
from pipeline.reporting.paper_report import csv_report, markdown_report, tex_report, write_reports
from pipeline.reporting.paper_table import AVG, BELOW, at_learning_rate, build_tables, current_runs, kept_learning_rates
from pipeline.reporting.published import load_published
from pipeline.reporting.room_checks import room_checks

EXP_SHOW = REPO / "tests/data/exp_show.json"
PUBLISHED = REPO / "reference/published.yaml"
PAPER_COLUMNS = ["MNLI-m", "MNLI-mm", "QQP F1", "QQP Acc", "QNLI", "SST-2", "MRPC F1", "MRPC Acc", "RTE"]


def metrics_of(held_out: str, selection: float, dev: dict, test: dict | None = None, task: str = "rte") -> dict:
    """A metrics file: `dev` and `test` map a metric to its score (RTE: accuracy; MRPC: f1, accuracy)."""
    metrics = {"dev": {"dev": dev}, "selection": {"held_out": held_out, "selection_metric": next(iter(dev)),
                                                 "best": {next(iter(dev)): selection}}}
    if test is not None:
        metrics["test"] = {"test": test}
    return metrics


def record(run, held_out, rate, seed, dev, selection=None, test=None, *, task="rte", mode="faithful",
           config="current", preset="demo", source="hub") -> RunRecord:
    dev_scores = dev if isinstance(dev, dict) else {"accuracy": dev}
    test_scores = {"accuracy": test} if isinstance(test, float) else test
    first = next(iter(dev_scores.values()))
    return RunRecord(experiment=f"exp-{run}-{seed}-{rate}", run=run, task=task, preset=preset, held_out=held_out,
                     seed=seed, learning_rate=rate, lgtm_mode=mode, config=config, data_source=source,
                     metrics=metrics_of(held_out, first if selection is None else selection, dev_scores, test_scores))


def protocol_records() -> list[RunRecord]:
    """RTE; teacher, KD, LGTM (and its fast mode), the student alone; learning rates 1e-3 and
    2e-3, seeds 1-3; both held-out modes. Newest first: the last two are left out by current_runs."""
    return [
        # held-out dev: selection on dev, so the selection score is the dev score
        *(record("finetune-teacher", "dev", 1e-3, seed, dev) for seed, dev in ((1, 0.90), (2, 0.91), (3, 0.95))),
        # LGTM: 1e-3 (mean 0.82) beats 2e-3 (mean 0.7667)
        *(record("lgtm", "dev", 1e-3, seed, dev, test=test)
          for seed, dev, test in ((1, 0.80, 0.78), (2, 0.82, 0.80), (3, 0.84, 0.83))),
        *(record("lgtm", "dev", 2e-3, seed, dev, test=0.50) for seed, dev in ((1, 0.85), (2, 0.70), (3, 0.75))),
        # KD: 2e-3 (mean 0.75) beats 1e-3 (mean 0.71)
        *(record("kd", "dev", 1e-3, seed, dev, test=0.99) for seed, dev in ((1, 0.70), (2, 0.71), (3, 0.72))),
        *(record("kd", "dev", 2e-3, seed, dev, test=test)
          for seed, dev, test in ((1, 0.74, 0.73), (2, 0.76, 0.75), (3, 0.75, 0.74))),
        record("lgtm", "dev", 1e-3, 1, 0.79, mode="fast"),
        *(record("finetune", "dev", 1e-3, seed, dev) for seed, dev in ((1, 0.78), (2, 0.83))),
        # held-out train_slice: the rate is kept on the held-out slice's score, not on dev
        *(record("lgtm", "train_slice", 1e-3, seed, dev, selection)
          for seed, dev, selection in ((1, 0.70, 0.60), (2, 0.72, 0.62))),
        *(record("lgtm", "train_slice", 2e-3, seed, dev, selection)
          for seed, dev, selection in ((1, 0.68, 0.65), (2, 0.69, 0.66))),
        *(record("kd", "train_slice", 1e-3, seed, dev, 0.5) for seed, dev in ((1, 0.66), (2, 0.68))),
        # older: KD of another configuration, and another preset
        record("kd", "dev", 2e-3, 4, 0.10, config="older"),
        record("kd", "dev", 2e-3, 5, 0.10, preset="paper"),
    ]


def tables_by_key(records):
    return {(table.held_out, table.split): table for table in build_tables(current_runs(records, "demo"))}


def p_df2(t: float) -> float:
    """Two-sided p of Student's t with 2 degrees of freedom: its CDF is 1/2 + t / (2 sqrt(2 + t^2))."""
    return 1 - abs(t) / math.sqrt(2 + t * t)


def p_df1(t: float) -> float:
    """Two-sided p of Student's t with 1 degree of freedom (Cauchy): 1 - (2/pi) atan|t|."""
    return 1 - 2 / math.pi * math.atan(abs(t))


def test_current_runs_keep_one_preset_and_each_rows_newest_configuration():
    runs = current_runs(protocol_records(), "demo")
    assert len(runs) == len(protocol_records()) - 2
    assert {record.seed for record in runs if record.run == "kd"} == {1, 2, 3}


def test_the_kept_learning_rate_is_the_best_mean_selection_score_over_seeds():
    kept = kept_learning_rates(current_runs(protocol_records(), "demo"))
    assert kept == {("dev", "lgtm", "rte"): 1e-3, ("dev", "kd", "rte"): 2e-3, ("dev", "lgtm-fast", "rte"): 1e-3,
                    ("dev", "finetune", "rte"): 1e-3, ("train_slice", "lgtm", "rte"): 2e-3,
                    ("train_slice", "kd", "rte"): 1e-3}


def test_a_rate_run_on_fewer_seeds_is_not_kept_however_well_it_scored():
    records = current_runs(protocol_records(), "demo")
    begun = record("kd", "dev", 4e-3, 1, 0.99)  # a third rate, its first seed in
    assert kept_learning_rates([begun, *records])["dev", "kd", "rte"] == 2e-3
    assert kept_learning_rates([begun])["dev", "kd", "rte"] == 4e-3  # alone, it is the grid


def test_the_table_at_one_rate_keeps_that_rates_runs_and_the_teacher_alone():
    dev = tables_by_key(at_learning_rate(protocol_records(), 1e-3))["dev", "dev"].cells
    assert dev["kd"]["RTE"].mean == pytest.approx(71.0) and dev["kd"]["RTE"].learning_rate == 1e-3  # not 2e-3's 75
    assert dev["finetune-teacher"]["RTE"].mean == pytest.approx(92.0)  # trained at its own rate


def test_cells_mean_std_and_lgtms_paired_test_worked_by_hand():
    tables = tables_by_key(protocol_records())
    assert set(tables) == {("dev", "dev"), ("dev", "test"), ("train_slice", "dev")}
    dev = tables["dev", "dev"].cells
    assert list(dev) == ["finetune-teacher", "kd", "lgtm", "lgtm-fast", "finetune"]
    # teacher: 90, 91, 95 -> mean 92, deviations -2, -1, 3: variance 14 / 2
    assert dev["finetune-teacher"]["RTE"].mean == pytest.approx(92.0)
    assert dev["finetune-teacher"]["RTE"].std == pytest.approx(math.sqrt(7))
    assert dev["finetune-teacher"]["RTE"].p_value is None  # the teacher is not compared
    assert (dev["lgtm"]["RTE"].mean, dev["lgtm"]["RTE"].std) == (pytest.approx(82.0), pytest.approx(2.0))
    assert dev["lgtm"]["RTE"].learning_rate == 1e-3 and dev["lgtm"]["RTE"].p_value is None
    # KD at 2e-3: 74, 76, 75; LGTM - KD = 6, 6, 9: mean 7, sd sqrt(3), t = 7 / (sqrt(3) / sqrt(3)) = 7
    kd = dev["kd"]["RTE"]
    assert (kd.mean, kd.std, kd.learning_rate) == (pytest.approx(75.0), pytest.approx(1.0), 2e-3)
    assert kd.p_value == pytest.approx(p_df2(7.0)) and kd.p_value == pytest.approx(0.019804, abs=1e-6)
    assert kd.direction == BELOW
    assert dev["kd"][AVG].p_value == pytest.approx(p_df2(7.0)) and dev["kd"][AVG].direction == BELOW
    # the student alone, seeds 1 and 2: 78, 83 against LGTM's 80, 82: d = 2, -1, t = 0.5 / 1.5
    student = dev["finetune"]["RTE"]
    assert (student.mean, student.std) == (pytest.approx(80.5), pytest.approx(5 / math.sqrt(2)))
    assert student.p_value == pytest.approx(p_df1(1 / 3)) and student.direction == ""
    # one seed: no ±, no test
    fast = dev["lgtm-fast"]["RTE"]
    assert (fast.mean, fast.std, fast.p_value, fast.direction) == (pytest.approx(79.0), None, None, "")


def test_the_test_table_takes_the_dev_kept_rates():
    test = tables_by_key(protocol_records())["dev", "test"].cells
    assert list(test) == ["kd", "lgtm"]  # the others have no test scores
    assert test["lgtm"]["RTE"].mean == pytest.approx((78 + 80 + 83) / 3)  # not 2e-3's 50
    assert test["kd"]["RTE"].mean == pytest.approx(74.0)  # not 1e-3's 99
    # LGTM - KD = 5, 5, 9: mean 19/3, sd sqrt(16/3), t = (19/3) / (sqrt(16/3) / sqrt(3)) = 4.75
    assert test["kd"]["RTE"].p_value == pytest.approx(p_df2(4.75)) and test["kd"]["RTE"].direction == BELOW


def test_train_slice_keeps_the_rate_of_the_held_out_score():
    cells = tables_by_key(protocol_records())["train_slice", "dev"].cells
    assert cells["lgtm"]["RTE"].mean == pytest.approx(68.5)  # 2e-3's dev scores, lower than 1e-3's
    assert cells["lgtm"]["RTE"].std == pytest.approx(math.sqrt(0.5))
    # LGTM - KD = 68 - 66, 69 - 68: mean 1.5, sd sqrt(0.5), t = 1.5 / 0.5 = 3
    assert cells["kd"]["RTE"].p_value == pytest.approx(p_df1(3.0)) and cells["kd"]["RTE"].direction == ""


def test_avg_is_the_mean_of_the_paper_columns_and_its_test_pairs_per_seed_averages():
    mrpc = [("lgtm", 1, 0.90, 0.86, 0.70), ("lgtm", 2, 0.92, 0.88, 0.72),
            ("kd", 1, 0.88, 0.84, 0.66), ("kd", 2, 0.89, 0.85, 0.69), ("kd", 3, 0.80, 0.80, None)]
    records = []
    for run, seed, f1, accuracy, rte in mrpc:
        records.append(record(run, "dev", 1e-3, seed, {"f1": f1, "accuracy": accuracy}, task="mrpc"))
        if rte is not None:
            records.append(record(run, "dev", 1e-3, seed, rte))
    cells = tables_by_key(records)["dev", "dev"].cells
    # LGTM: per seed (90 + 86 + 70) / 3 = 82, (92 + 88 + 72) / 3 = 84
    assert (cells["lgtm"][AVG].mean, cells["lgtm"][AVG].std) == (pytest.approx(83.0), pytest.approx(math.sqrt(2)))
    # KD: the mean of its column means (85 2/3, 83, 67.5); ± over seeds 1 and 2 (seed 3 has no RTE)
    kd = cells["kd"][AVG]
    assert kd.mean == pytest.approx((85 + 2 / 3 + 83 + 67.5) / 3)
    assert kd.seeds == pytest.approx({1: 238 / 3, 2: 81.0}) and kd.std == pytest.approx((81 - 238 / 3) / math.sqrt(2))
    # LGTM - KD per seed: 82 - 79 1/3, 84 - 81: mean 17/6, sd (1/3) / sqrt(2), t = 17
    assert kd.p_value == pytest.approx(p_df1(17.0)) and kd.direction == BELOW


def test_markdown_has_every_paper_column_the_marks_and_the_gap():
    tables = build_tables(current_runs(protocol_records(), "demo"))
    text = markdown_report(tables, load_published(PUBLISHED), "demo")
    header = "|  | " + " | ".join(PAPER_COLUMNS) + " | Avg | p (Avg) |"
    assert text.count(header) == 3  # dev and test of held-out dev, dev of train_slice
    assert "| KD |  |  |  |  |  |  |  |  | 75.0 ± 1.0↓ | 75.0 ± 1.0↓ | 0.020 |" in text
    assert "| LGTM (fast) |  |  |  |  |  |  |  |  | 79.0 | 79.0 |  |" in text
    assert "| Student (fine-tuned) |  |  |  |  |  |  |  |  | 80.5 ± 3.5 | 80.5 ± 3.5 | 0.795 |" in text
    assert "| LGTM | 82.0 | 80.3 | +1.7 |" in text and "| KD | 75.0 | 74.0 | +1.0 |" in text  # dev − test
    assert "## Held-out set: `dev`" in text and "## Held-out set: `train_slice`" in text
    assert "scipy.stats.ttest_rel" in text


def test_csv_is_long_form_with_rates_and_p_values():
    lines = csv_report(build_tables(current_runs(protocol_records(), "demo"))).splitlines()
    assert lines[0] == "held_out,split,row,column,mean,std,n_seeds,kept_learning_rate,p_value_vs_lgtm"
    assert "dev,dev,KD,RTE,75.0000,1.0000,3,0.002,0.0198039" in lines
    assert "dev,dev,Teacher,RTE,92.0000,2.6458,3,," in lines
    assert not any(",MNLI-m," in line for line in lines)  # an empty cell has no line


def test_tex_is_booktabs_dev_tables():
    tex = tex_report(build_tables(current_runs(protocol_records(), "demo")))
    assert tex.count("\\toprule") == 2 and tex.count("\\bottomrule") == 2  # the dev table of each mode
    assert "KD &  &  &  &  &  &  &  &  & 75.0 $\\pm$ 1.0$^\\downarrow$ &" in tex
    assert "train\\_slice" in tex


def test_published_rows_and_their_sources():
    rows = {row.label: row for row in load_published(PUBLISHED)}
    readme = rows["LGTM (paper README, dev)"]
    assert readme.values == {"MNLI-m": 83.4, "QQP F1": 91.1, "QQP Acc": 88.0} and readme.split == "dev"
    assert "e9b615fb0cef1fddb17d693076dc54e9b804d110" in readme.source and "Acc/F1" in readme.note
    assert rows["KD (MetaDistil#5, dev)"].values["RTE"] == 68.6
    assert rows["MetaDistil (MetaDistil#5, dev)"].values["QQP Acc"] == 90.4
    assert rows["LGTM (paper, GLUE test, 6-layer student)"].values == {"Avg": 83.4}
    assert all(row.source for row in rows.values())
    text = markdown_report(build_tables(current_runs(protocol_records(), "demo")), list(rows.values()), "demo")
    assert "| LGTM (paper README, dev) [1] | 83.4 |  | 91.1 | 88.0 |" in text
    assert "[1] The README gives" in text


def test_published_numbers_under_unknown_columns_are_refused(tmp_path):
    path = tmp_path / "published.yaml"
    path.write_text("rows:\n- {label: X, split: dev, source: somewhere, values: {MNLI: 80.0}}\n")
    with pytest.raises(InputError, match=r"rows\[0\]\.values: MNLI"):
        load_published(path)


def test_the_four_reports_are_written(tmp_path):
    paths = write_reports(build_tables(current_runs(protocol_records(), "demo")), [], "demo", tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == [f"paper_table.{s}" for s in ("csv", "md", "png", "tex")]
    png = paths["png"].read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000


# --- the experiments' records ---

def fixture_records() -> list[RunRecord]:
    return records_from_exp_show(json.loads(EXP_SHOW.read_text()))


def test_records_of_finished_experiments_each_run_once():
    records = fixture_records()
    # 4 files (teacher, KD, LGTM on RTE; LGTM on MNLI) of 5 distinct param sets; the teacher and KD
    # of `fast` are seed1's runs, so 4 + 4 + 5 + 5
    assert len(records) == 18
    assert {record.experiment for record in records} == {"workspace", "seed1-again", "slice", "seed2-lr", "master"}
    assert not any(record.seed == 9 for record in records)  # queued
    teacher = {(record.held_out, record.seed) for record in records if record.run == "finetune-teacher"}
    assert teacher == {("dev", 1), ("dev", 2), ("dev", 42), ("train_slice", 1)}
    fast = [record for record in records if record.run == "lgtm" and record.lgtm_mode == "fast"]
    assert [(record.task, record.experiment) for record in fast] == [("mnli", "workspace"), ("rte", "workspace")]
    master_lgtm = next(r for r in records if r.experiment == "master" and r.run == "lgtm" and r.task == "rte")
    assert master_lgtm.selection_score == pytest.approx(0.6 + 2 / 50 + 42 / 1000 + 0.02)
    assert master_lgtm.metrics["test"]["test"]["accuracy"] == pytest.approx(0.692)
    kd_config = json.loads(next(r for r in records if r.run == "kd").config)
    assert "kd" in kd_config and "lgtm" not in kd_config and "seed" not in kd_config
    assert kd_config["train"] == {"teacher_learning_rate": 0.002} and kd_config["held_out"] == {"fraction": 0.1}


def test_a_workspace_out_of_date_is_left_out():
    records = records_from_exp_show(json.loads(EXP_SHOW.read_text()), workspace=False)
    fast = [record for record in records if record.run == "lgtm" and record.lgtm_mode == "fast"]
    assert len(records) == 18 and {record.experiment for record in fast} == {"fast"}


def test_the_fixture_makes_a_table():
    tables = tables_by_key(fixture_records())
    dev = tables["dev", "dev"].cells
    # LGTM on RTE at 2e-3, seeds 1 and 42: 66.1 and 70.2 (seed 2 ran at 1e-3, a worse rate)
    assert dev["lgtm"]["RTE"].seeds == pytest.approx({1: 66.1, 42: 70.2})
    assert dev["lgtm-fast"]["MNLI-m"].seeds == pytest.approx({1: 66.1})
    assert tables["dev", "test"].cells["kd"]["RTE"].seeds == pytest.approx({1: 67.1, 42: 71.2})


def params_of(held_out: str) -> dict:
    return {"seed": 1, "preset": "demo", "train": {"learning_rate": 0.001}, "held_out": {"source": held_out}}


def workspace_with(params: dict, metrics: dict) -> list[dict]:
    return [{"rev": "workspace", "name": None, "error": None, "experiments": None,
             "data": {"timestamp": None, "params": {"params.yaml": {"data": params}}, "metrics": metrics}}]


def test_stale_and_foreign_metrics_files_are_left_out():
    current = {"data": metrics_of("dev", 0.7, {"accuracy": 0.7})}
    assert len(records_from_exp_show(workspace_with(params_of("dev"), {"metrics/kd/rte.json": current}))) == 1
    # params changed after the metrics were written: their selection split is not the params'
    assert records_from_exp_show(workspace_with(params_of("train_slice"), {"metrics/kd/rte.json": current})) == []
    # an older layout (metrics/TASK/RUN.json), the summary, an unreadable file
    others = {"metrics/rte/kd.json": current, "metrics/summary.json": {"data": {"kd": {}}},
              "metrics/lgtm/rte.json": {"error": {"msg": "bad json"}}}
    assert records_from_exp_show(workspace_with(params_of("dev"), others)) == []
    # params without a key the table needs (an old commit's)
    assert records_from_exp_show(workspace_with({"seed": 1}, {"metrics/kd/rte.json": current})) == []


def test_the_command_on_a_saved_exp_show(tmp_path):
    from stages.tools import paper_table

    paper_table.main(out=tmp_path, preset="demo", exp_show_file=EXP_SHOW, published_file=PUBLISHED,
                     params_file=REPO / "params.yaml")
    text = (tmp_path / "paper_table.md").read_text()
    assert "| LGTM (fast) | 66.1 | 66.1 |" in text and "### Published numbers" in text
    with pytest.raises(InputError, match="presets with runs: demo"):
        paper_table.main(out=tmp_path, preset="paper", exp_show_file=EXP_SHOW, published_file=PUBLISHED,
                         params_file=REPO / "params.yaml")


# --- the command on DVC experiments ---

FAKE_EVALUATE = '''\
import json, os, random
import yaml
params = yaml.safe_load(open("params.yaml"))
for run in ("finetune-teacher", "kd", "lgtm", "finetune"):
    score = 0.5 + 0.4 * random.Random(f"{run}-{params['seed']}").random()
    metrics = {"dev": {"dev": {"accuracy": score}},
               "selection": {"held_out": params["held_out"]["source"], "selection_metric": "accuracy",
                             "best": {"accuracy": score}, "best_step": 5, "steps": 10}}
    os.makedirs(f"metrics/{run}", exist_ok=True)
    json.dump(metrics, open(f"metrics/{run}/rte.json", "w"))
'''
FAKE_DVC_YAML = '''\
stages:
  evaluate:
    cmd: python fake_evaluate.py
    deps: [fake_evaluate.py]
    params: [seed, preset, tasks, methods, train, held_out, lgtm]
    outs:
      - metrics:
          cache: false
metrics:
  - metrics
'''
FAKE_PARAMS = '''\
seed: 42
preset: demo
tasks: [rte]
methods: {pretrained: [finetune, lgtm], teacher: [kd], assistant: [], anchors: []}
train: {learning_rate: 0.002}
held_out: {source: dev}
lgtm: {mode: faithful}
'''


@pytest.mark.slow
def test_paper_table_of_dvc_experiments(tmp_path):
    """Three seeds (the baseline commit's and two `dvc exp run -S seed=...`) of a stage that writes
    metrics files from its params: the table has ± cells and LGTM's p against KD."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(REPO)}

    def sh(*args: str) -> str:
        result = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        return result.stdout

    (tmp_path / "fake_evaluate.py").write_text(FAKE_EVALUATE)
    (tmp_path / "dvc.yaml").write_text(FAKE_DVC_YAML)
    (tmp_path / "params.yaml").write_text(FAKE_PARAMS)
    sh("git", "init", "-q")
    sh("git", "config", "user.email", "t@t")
    sh("git", "config", "user.name", "t")
    sh("dvc", "init", "-q")
    sh("dvc", "repro", "-q")
    sh("git", "add", "-A")
    sh("git", "commit", "-qm", "seed 42")
    sh("dvc", "exp", "run", "-q", "-S", "seed=1")
    sh("dvc", "exp", "run", "-q", "-S", "seed=2")
    shown = sh(sys.executable, "-m", "stages", "paper-table", "--preset", "demo", "--out", "reports",
               "--published", str(PUBLISHED))
    kd = next(line for line in shown.splitlines() if line.startswith("| KD |"))
    assert kd.count("±") == 2  # RTE and Avg, over three seeds
    assert kd.split("|")[-2].strip().replace(".", "", 1).lstrip("<").isdigit()  # LGTM's p (Avg)
    assert "| p (Avg) |" in shown
    assert (tmp_path / "reports/paper_table.png").stat().st_size > 10_000
    # A new commit (other code, perhaps): its table has its own runs alone, unless told to pool.
    (tmp_path / "NOTES").write_text("a change\n")
    sh("git", "add", "-A")
    sh("git", "commit", "-qm", "another commit")
    alone = sh(sys.executable, "-m", "stages", "paper-table", "--preset", "demo", "--out", "reports",
               "--published", str(PUBLISHED))
    assert next(line for line in alone.splitlines() if line.startswith("| KD |")).count("±") == 0
    pooled = sh(sys.executable, "-m", "stages", "paper-table", "--preset", "demo", "--out", "reports",
                "--published", str(PUBLISHED), "--all-commits")
    assert next(line for line in pooled.splitlines() if line.startswith("| KD |")).count("±") == 2
    # params edited and not reproduced: the workspace's metrics are no longer its params'
    assert workspace_is_current(tmp_path)
    (tmp_path / "params.yaml").write_text(FAKE_PARAMS.replace("seed: 42", "seed: 7"))
    assert not workspace_is_current(tmp_path)


def test_a_task_on_other_data_is_its_own_column_not_the_papers():
    """Rotten Tomatoes snippets fill SST-2's layout: the column is RT polarity, not one of the
    paper's; Avg and the dev − test gap are taken over it; LGTM is still compared on it; the
    published numbers beside it are those of its data's source (MR), never GLUE's."""
    records = [record(run, "dev", 1e-3, seed, dev, test=dev - 0.01, task="sst2", preset="real",
                      source="rotten_tomatoes")
               for run, scores in (("finetune-teacher", (0.80, 0.81)), ("kd", (0.74, 0.75)), ("lgtm", (0.76, 0.78)))
               for seed, dev in zip((1, 2), scores)]
    dev, test = build_tables(current_runs(records, "real"))
    assert dev.columns == ["RT polarity", "Avg"] and test.split == "test"  # no empty column of the paper's
    assert dev.cells["kd"]["RT polarity"].mean == pytest.approx(74.5)
    assert dev.cells["kd"]["Avg"].mean == pytest.approx(74.5) and dev.cells["kd"]["Avg"].std == pytest.approx(0.7071, abs=1e-4)
    assert dev.cells["kd"]["RT polarity"].p_value is not None and dev.cells["kd"]["Avg"].p_value is not None
    text = markdown_report([dev, test], load_published(PUBLISHED), "real", room_checks(current_runs(records, "real")))
    assert "| RT polarity" in text and "## Does the comparison have room?" in text
    assert "| KD | 74.5 | 73.5 | +1.0 |" in text  # the dev − test gap
    published = text[text.index("### Published numbers"):]
    assert "| Kim (2014) CNN-non-static, MR (cross-validation) [1] | 81.5 |  |" in published
    assert "10-fold cross-validation" in published and "README" not in published and "GLUE" not in published
    glue = markdown_report(build_tables(current_runs(protocol_records(), "demo")), load_published(PUBLISHED), "demo")
    assert "### Published numbers" in glue and "Kim (2014)" not in glue
    with pytest.raises(InputError, match="different data"):
        build_tables(records + [record("kd", "dev", 1e-3, 3, 0.7, task="sst2", preset="real")])
