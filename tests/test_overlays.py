"""The readable views of results: metrics/summary.json (what leads `dvc exp show`), the per-task
overlay files from DVCLive's logs, and the plot template DVC fills with them."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

from pipeline.errors import InputError
from pipeline.reporting.overlays import dev_rows, kept_step, loss_rows, read_log, thin, write_overlays
from pipeline.reporting.summary_metrics import summary

TEMPLATE = REPO / ".dvc/plots/overlay.json"


def tsv(path: Path, name: str, rows: list[tuple[int, float]]) -> None:
    """A metric file as DVCLive writes it (live/RUN/TASK/plots/metrics/...)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"step\t{name}\n" + "".join(f"{step}\t{value}\n" for step, value in rows))


@pytest.fixture
def live(tmp_path) -> Path:
    """MRPC logs (selection metric f1) of the teacher alone, TAKD (with its assistant's run)
    and LGTM (which trains its teacher)."""
    root = tmp_path / "live"
    metrics = "plots/metrics"
    tsv(root / "finetune-teacher/mrpc" / metrics / "eval/student/f1.tsv", "f1", [(2, 0.5), (4, 0.75)])
    tsv(root / "finetune-teacher/mrpc" / metrics / "eval/student/accuracy.tsv", "accuracy", [(2, 0.1), (4, 0.2)])
    tsv(root / "finetune-teacher/mrpc" / metrics / "train/student_loss.tsv", "student_loss", [(1, 1.0), (2, 0.5)])
    tsv(root / "finetune-teacher/mrpc" / metrics / "train/student_lr.tsv", "student_lr", [(1, 1e-4), (2, 1e-4)])
    tsv(root / "takd-assistant/mrpc" / metrics / "eval/student/f1.tsv", "f1", [(4, 0.625)])
    tsv(root / "takd-assistant/mrpc" / metrics / "train/student_loss.tsv", "student_loss", [(1, 0.25)])
    tsv(root / "takd/mrpc" / metrics / "eval/student/f1.tsv", "f1", [(4, 0.75)])  # ties the teacher
    tsv(root / "takd/mrpc" / metrics / "train/student_loss.tsv", "student_loss", [(1, 2.0)])
    tsv(root / "lgtm/mrpc" / metrics / "eval/student/f1.tsv", "f1", [(2, 0.25), (4, 0.375)])
    tsv(root / "lgtm/mrpc" / metrics / "eval/teacher/f1.tsv", "f1", [(2, 0.875), (4, 1.0)])
    tsv(root / "lgtm/mrpc" / metrics / "train/student_loss.tsv", "student_loss", [(1, 3.0), (2, 1.0), (3, 2.0)])
    tsv(root / "lgtm/mrpc" / metrics / "train/teacher_loss.tsv", "teacher_loss", [(1, 4.0), (2, 5.0), (3, 6.0)])
    return root


RUNS = ["finetune-teacher", "takd", "lgtm"]


def test_read_log_gives_steps_and_values(live):
    assert read_log(live / "lgtm/mrpc/plots/metrics/eval/teacher/f1.tsv") == [(2, 0.875), (4, 1.0)]


def test_dev_rows_hold_every_students_and_teachers_selection_metric(live):
    rows = [(r["step"], r["run"], r["model"], r["kept"], r["f1"]) for r in dev_rows(live, RUNS, "mrpc")]
    assert rows == [
        # The teacher alone is the Teacher run's teacher; its accuracy (not MRPC's selection metric) is left out.
        (2, "Teacher", "teacher", 0, 0.5), (4, "Teacher", "teacher", 1, 0.75),
        # Only the model the results table reports has a kept checkpoint: not TAKD's assistant, nor
        # LGTM's teacher, whose best score is higher than its student's.
        (4, "TAKD", "student", 1, 0.75), (4, "TAKD", "assistant", 0, 0.625),
        (2, "LGTM", "student", 0, 0.25), (4, "LGTM", "student", 1, 0.375),
        (2, "LGTM", "teacher", 0, 0.875), (4, "LGTM", "teacher", 0, 1.0),
    ]


def test_the_kept_checkpoint_is_the_first_with_the_best_score():
    # The training loop replaces its checkpoint only on a strictly better score.
    assert kept_step([(25, 0.5), (50, 0.875), (63, 0.875)]) == 50
    assert kept_step([(25, 0.875), (50, 0.0), (63, 0.5)]) == 25  # not the last evaluation
    assert kept_step([]) is None


def test_loss_rows_name_each_loss_for_the_model_it_trains(live):
    rows = [(r["step"], r["run"], r["name"], r["loss"]) for r in loss_rows(live, RUNS, "mrpc")]
    assert rows == [
        (1, "Teacher", "teacher_loss", 1.0), (2, "Teacher", "teacher_loss", 0.5),  # student_lr is no loss
        (1, "TAKD", "student_loss", 2.0), (1, "TAKD", "assistant_loss", 0.25),
        (1, "LGTM", "student_loss", 3.0), (2, "LGTM", "student_loss", 1.0), (3, "LGTM", "student_loss", 2.0),
        (1, "LGTM", "teacher_loss", 4.0), (2, "LGTM", "teacher_loss", 5.0), (3, "LGTM", "teacher_loss", 6.0),
    ]


def test_long_loss_curves_are_window_means_at_each_windows_last_step(live):
    # 5 points, at most 2: windows of ceil(5 / 2) = 3 points, then the 2 left.
    assert thin([(1, 1.0), (2, 2.0), (3, 6.0), (4, 4.0), (5, 5.0)], 2) == [(3, 3.0), (5, 4.5)]
    assert thin([(1, 1.0), (2, 2.0)], 2) == [(1, 1.0), (2, 2.0)]
    rows = [(r["step"], r["name"], r["loss"]) for r in loss_rows(live, ["lgtm"], "mrpc", limit=2)]
    assert rows == [(2, "student_loss", 2.0), (3, "student_loss", 2.0), (2, "teacher_loss", 4.5),
                    (3, "teacher_loss", 6.0)]


def test_write_overlays_writes_a_tidy_csv_per_task_and_chart(live, tmp_path):
    written = write_overlays(live, ["lgtm"], ["mrpc"], tmp_path / "plots")
    assert written == [tmp_path / "plots/mrpc/dev.csv", tmp_path / "plots/mrpc/loss.csv"]
    # The quantity is the last column, named for what it is: DVC plots it when dvc.yaml names no y.
    assert written[0].read_text() == ("step,run,model,kept,f1\n2,LGTM,student,0,0.25\n4,LGTM,student,1,0.375\n"
                                      "2,LGTM,teacher,0,0.875\n4,LGTM,teacher,0,1.0\n")
    assert written[1].read_text().splitlines()[:2] == ["step,run,name,loss", "1,LGTM,student_loss,3.0"]


def test_a_missing_log_is_named(live):
    with pytest.raises(InputError, match=r"live/kd/mrpc/plots/metrics/eval/student/f1.tsv: missing"):
        dev_rows(live, ["kd"], "mrpc")
    (live / "lgtm/mrpc/plots/metrics/eval/student/f1.tsv").write_text("0.5\n")
    with pytest.raises(InputError, match="expected a DVCLive log"):
        dev_rows(live, ["lgtm"], "mrpc")


def metrics_file(path: Path, dev: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"dev": dev}))


@pytest.fixture
def metrics(tmp_path) -> Path:
    root = tmp_path / "metrics"
    metrics_file(root / "finetune-teacher/mnli.json", {"dev_matched": {"accuracy": 0.9123},
                                                       "dev_mismatched": {"accuracy": 0.8}})
    metrics_file(root / "finetune-teacher/mrpc.json", {"dev": {"f1": 0.75, "accuracy": 0.7}})
    metrics_file(root / "lgtm/mnli.json", {"dev_matched": {"accuracy": 0.85}, "dev_mismatched": {"accuracy": 0.86}})
    metrics_file(root / "lgtm/mrpc.json", {"dev": {"f1": 0.6049, "accuracy": 0.65}})
    return root


def test_summary_has_each_runs_average_and_headline_metric_x100(metrics):
    result = summary(metrics, ["finetune-teacher", "lgtm"], ["mrpc", "mnli"])
    # Teacher: (91.23 + 80 + 75 + 70) / 4 = 79.0575; LGTM: (85 + 86 + 60.49 + 65) / 4 = 74.1225.
    # Headlines: MNLI matched accuracy, MRPC F1; tasks in the table's order.
    assert result == {"teacher": {"avg": 79.1, "mnli": 91.2, "mrpc": 75.0},
                      "lgtm": {"avg": 74.1, "mnli": 85.0, "mrpc": 60.5}}
    assert list(result["lgtm"]) == ["avg", "mnli", "mrpc"]
    assert json.loads(json.dumps(result)) == result


def test_summary_names_a_missing_metrics_file(metrics):
    with pytest.raises(InputError, match=r"metrics/kd/mnli.json: missing"):
        summary(metrics, ["lgtm", "kd"], ["mnli"])


def test_template_is_a_vega_lite_spec_with_dvcs_anchors():
    template = json.loads(TEMPLATE.read_text())
    assert template["data"] == {"values": "<DVC_METRIC_DATA>"}
    text = TEMPLATE.read_text()
    for anchor in ("<DVC_METRIC_X>", "<DVC_METRIC_Y>"):
        assert anchor in text
    # DVC's colour anchor would colour by revision: the template colours by run (or loss) itself,
    # and its title anchor would title each chart with the file's path: the template writes its own.
    assert "<DVC_METRIC_COLOR>" not in text and "<DVC_METRIC_TITLE>" not in text
    assert {channel["field"] for channel in find_key(template, "color") if isinstance(channel, dict)} == {"run", "name"}


def find_key(spec, key: str) -> list:
    """Every value of `key` anywhere in a nested Vega-Lite spec."""
    if isinstance(spec, dict):
        return [value for name, value in spec.items() if name == key] + \
            [found for value in spec.values() for found in find_key(value, key)]
    if isinstance(spec, list):
        return [found for value in spec for found in find_key(value, key)]
    return []


def test_dvc_render_fills_the_template(live, tmp_path):
    """DVC's renderer accepts the template and leaves no anchor unfilled."""
    import csv

    from dvc_render.vega import VegaRenderer

    path = write_overlays(live, RUNS, ["mrpc"], tmp_path / "plots")[0]
    points = [{**row, "rev": "workspace"} for row in csv.DictReader(path.open())]
    spec = VegaRenderer(points, "plots/mrpc/dev.csv", template=str(TEMPLATE), x="step", y="f1",
                        title="plots/mrpc/dev.csv").get_filled_template()
    assert "<DVC_METRIC" not in json.dumps(spec)
    assert spec["data"]["values"][0] == {"step": "2", "run": "Teacher", "model": "teacher", "kept": "0", "f1": "0.5",
                                         "rev": "workspace"}
    assert {"calculate": "toNumber(datum['f1'])", "as": "y"} in spec["transform"]


def dvc_project(tmp_path: Path):
    """A scratch git and DVC repository with dvc.yaml's top-level metrics and plots, the overlay
    template and the offline page; and a function that runs a command in it and returns stdout."""
    project = yaml.safe_load((REPO / "dvc.yaml").read_text())
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(REPO)}

    def sh(*args: str) -> str:
        result = subprocess.run(args, cwd=repo, capture_output=True, text=True, env=env, timeout=120)
        assert result.returncode == 0, f"{' '.join(args)}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
        return result.stdout

    sh("git", "init", "-q")
    sh("dvc", "init", "-q")
    (repo / ".dvc/plots").mkdir()
    (repo / ".dvc/plots/overlay.json").write_text(TEMPLATE.read_text())
    sh(sys.executable, "-m", "stages", "plots-template", "--out", ".dvc/plots-template.html")
    sh("dvc", "config", "plots.html_template", "plots-template.html")
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"metrics": project["metrics"], "plots": project["plots"]}))
    return repo, sh


@pytest.mark.slow
def test_dvc_shows_the_summary_first_and_an_overlay_per_task(live, metrics, tmp_path):
    """dvc.yaml's top-level metrics and plots in a scratch repository: `dvc exp show` leads with
    summary.json, and `dvc plots show` draws each file of plots/ with the overlay, its last
    column against the step."""
    assert yaml.safe_load((REPO / "dvc.yaml").read_text())["metrics"][0] == "metrics/summary.json"
    repo, sh = dvc_project(tmp_path)
    for run in ("finetune-teacher", "lgtm"):
        shutil.copytree(metrics / run, repo / "metrics" / run)
    (repo / "metrics/summary.json").write_text(json.dumps(summary(metrics, ["finetune-teacher", "lgtm"], ["mnli"])))
    write_overlays(live, RUNS, ["mrpc"], repo / "plots")
    sh("git", "add", "-A")
    sh("git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "results")  # exp show lists commits
    header = sh("dvc", "exp", "show", "--csv").splitlines()[0].split(",")
    assert header[5:8] == ["teacher.avg", "teacher.mnli", "lgtm.avg"]  # after Experiment, rev, typ, Created, parent
    plots = json.loads(sh("dvc", "plots", "show", "--json"))
    assert not plots.get("errors"), plots["errors"]
    assert sorted(plots["data"]) == ["plots/mrpc/dev.csv", "plots/mrpc/loss.csv"]
    dev, loss = (plots["data"][f"plots/mrpc/{name}.csv"][0]["content"] for name in ("dev", "loss"))
    assert {row["run"] for row in dev["data"]["values"]} == {"Teacher", "TAKD", "LGTM"}
    assert {"calculate": "toNumber(datum['step'])", "as": "x"} in dev["transform"]
    assert {"calculate": "toNumber(datum['f1'])", "as": "y"} in dev["transform"]
    assert {"calculate": "toNumber(datum['loss'])", "as": "y"} in loss["transform"]
    assert {row["name"] for row in loss["data"]["values"]} == {"teacher_loss", "student_loss", "assistant_loss"}
    # The losses: a panel per run, each on its own log scale.
    assert {"type": "log"} in find_key(loss, "scale")
    assert {"scale": {"y": "independent"}} in find_key(loss, "resolve")
    assert {facet["field"] for facet in find_key(loss, "facet")} >= {"panel"}


def page_texts(page: Path) -> list[tuple[float, float, str]]:
    """(x, y, text) of every text the page's charts show, drawn by a headless Chromium offline."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    assert browser, "a headless Chromium is needed to draw the plots page (make chromium)"
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
                          "--proxy-server=127.0.0.1:9", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=300).stdout
    texts = re.findall(r'<text [^>]*transform="translate\(([-\d.]+),([-\d.]+)\)[^"]*"[^>]*>([^<]*)</text>', dom)
    return [(float(x), float(y), html.unescape(text)) for x, y, text in texts]


@pytest.mark.slow
def test_the_plots_page_shows_each_runs_kept_score_and_readable_losses(live, tmp_path):
    """`dvc plots show`'s page, drawn: each chart is titled with its task and metric, not a file
    path; each run's kept score is written out, best first, ties said; the losses are drawn a
    panel per run on log scales."""
    repo, sh = dvc_project(tmp_path)
    write_overlays(live, RUNS, ["mrpc"], repo / "plots")
    sh("dvc", "plots", "show", "-o", "page")
    texts = page_texts(repo / "page/index.html")
    shown = [text for _, _, text in texts]
    assert "MRPC: F1 on the held-out split at each evaluation" in shown
    assert "MRPC: training losses by step" in shown
    assert not [text for text in shown if "plots/" in text]
    # The ranking: a row per run, its name and its kept checkpoint's score x100 (the results
    # table's), best first; the Teacher and TAKD tie at 75.0 (in the table's order), LGTM's kept
    # student scores 37.5 although its teacher reaches 100.
    labels = [(y, text) for x, y, text in texts if re.fullmatch(r"\d+\.\d at step \d+( \(\d+ tied\))?", text)]
    rows = [(name, label) for y, label in sorted(labels)
            for x, name_y, name in texts if name_y == y and name in ("Teacher", "TAKD", "LGTM")]
    assert rows == [("Teacher", "75.0 at step 4 (2 tied)"), ("TAKD", "75.0 at step 4 (2 tied)"),
                    ("LGTM", "37.5 at step 4")]
    # Each run's panel marks its kept checkpoint with its score.
    assert sorted(text for text in shown if text in ("75.0", "37.5", "100.0")) == ["37.5", "75.0", "75.0"]
    # The losses: a key naming each, a panel per run (each run's name twice: dev's panels and the
    # losses'), log scales.
    assert {"teacher_loss", "student_loss", "assistant_loss"} <= set(shown)
    assert shown.count("loss (log)") == 3 and shown.count("LGTM") == 3  # its ranking row, and two panels
