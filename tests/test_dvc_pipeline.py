"""The DAG as users drive it: `dvc repro` end to end, a no-op repro, knobs that rerun exactly
their stages, and `dvc exp run -S` through the hydra composition. Runs in a scratch git+DVC
copy of the project, narrowed to one task and two methods to keep it quick."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import QUICK_PRETRAINING_STEPS
from scratch_project import changed_stages, edit_params, environment, git, run, scratch_project, sh

pytestmark = pytest.mark.slow


def stages_run(output: str) -> set[str]:
    return set(re.findall(r"Running stage '([^']+)'", output))


def narrowed(preset: dict) -> None:
    preset.update(tasks=["rte"], methods={"pretrained": ["lgtm"], "teacher": ["kd"], "assistant": ["takd"],
                                          "anchors": ["rco"]})
    preset["data"]["synthetic"].update(train_rows=100, dev_rows=20, test_rows=20)
    preset["train"].update(epochs=1, eval_steps=5, batch_size=16)
    preset["model"]["tiny_pretraining"]["steps"] = QUICK_PRETRAINING_STEPS


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """The tracked project files, with the demo preset narrowed to RTE, KD and LGTM, small."""
    return scratch_project(tmp_path_factory.mktemp("repo"), narrowed)


@pytest.fixture(scope="module")
def first_repro(repo) -> str:
    """The output of the first `dvc repro`; its results are committed, as a user would."""
    output = sh("dvc", "repro", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-qm", "reproduced", cwd=repo)
    return output


def test_repro_runs_the_whole_dag_then_is_a_no_op(repo, first_repro):
    output = first_repro
    assert stages_run(output) == {"params", "download", "pretrained", "tokenize", "finetune-teacher", "distill@kd",
                                  "train@lgtm", "assistant@takd", "distill-assistant@takd", "distill-anchors@rco",
                                  "evaluate", "table", "plots", "influence"}
    for method in ("kd", "lgtm", "takd", "rco"):
        with zipfile.ZipFile(repo / "submissions" / f"{method}.zip") as archive:
            assert len(archive.namelist()) == 11
        assert json.loads((repo / "metrics" / method / "rte.json").read_text())["dev"]["dev"]["accuracy"] >= 0
    # header, rule, and the rows of the teacher, KD, TAKD, RCO and LGTM
    assert (repo / "reports/results.md").read_text().count("\n") == 2 + 5
    assert "flipped" in (repo / "reports/influence/rte.md").read_text() and (repo / "reports/influence/rte.png").is_file()
    tracked = subprocess.run(["git", "ls-files", "metrics"], cwd=repo, capture_output=True, text=True).stdout.split()
    assert "metrics/lgtm/rte.json" in tracked  # in git, so that `dvc exp show` on a clone has them
    again = sh("dvc", "repro", cwd=repo)
    assert "Data and pipelines are up to date." in again and not stages_run(again)
    assert changed_stages(repo) == set()


# The stages that train a student: every one but the teacher's.
STUDENTS = ("distill@kd", "train@lgtm", "assistant@takd", "distill-assistant@takd", "distill-anchors@rco")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda p: p["data"].update(max_seq_length=32), {"params", "pretrained", "tokenize"}),
        (lambda p: p["model"]["student"].update(intermediate=64), {"params", "pretrained"}),
        (lambda p: p["data"]["synthetic"].update(label_noise=0.1), {"params", "download"}),
        (lambda p: p["train"].update(learning_rate=5e-5), {"params", *STUDENTS}),
        (lambda p: p["train"].update(teacher_learning_rate=5e-5), {"params", "finetune-teacher", *STUDENTS}),
        (lambda p: p["methods"].update(teacher=[]), {"params", "evaluate", "table", "plots", "influence"}),
        (lambda p: p["lgtm"].update(radius=0.1), {"params", "train@lgtm"}),  # a method's knob: its runs only
        (lambda p: p["lgtm"].update(influence_every=2), {"params", "train@lgtm", "influence"}),
        (lambda p: p["takd"].update(assistant_layers=1), {"params", "assistant@takd", "distill-assistant@takd"}),
        # RCO's anchor count: the teacher's run, which copies itself when RCO is not listed,
        # and RCO's; the methods that read the teacher rerun only if its bytes change.
        (lambda p: p["rco"].update(anchors=2), {"params", "finetune-teacher", "distill-anchors@rco"}),
        (lambda p: p["held_out"].update(source="train_slice"), {"params", "finetune-teacher", *STUDENTS}),
        (lambda p: p["launch"].update(workers=1, checkpoint_steps=7), {"params"}),  # how, not what
        # Processes split each batch: float rounding and dropout masks differ, so every run retrains.
        (lambda p: p["launch"].update(processes=2), {"params", "finetune-teacher", *STUDENTS}),
    ],
)
def test_a_knob_invalidates_exactly_the_stages_that_read_it(repo, first_repro, edit, expected):
    original = (repo / "params.yaml").read_text()
    try:
        edit_params(repo, edit)
        assert changed_stages(repo) == expected
    finally:
        (repo / "params.yaml").write_text(original)


def test_exp_run_set_param_reruns_only_what_reads_it(repo, first_repro):
    output = sh("dvc", "exp", "run", "-S", "train.learning_rate=5e-4", "-n", "lr5e-4", cwd=repo)
    # The student's learning rate: its runs, then what reads their outputs (the table, the
    # plots and the influence report only where the metrics, logs or rows came out different);
    # nothing upstream.
    ran = stages_run(output)
    retrained = {"params", *STUDENTS, "evaluate"}
    assert retrained <= ran <= retrained | {"table", "plots", "influence"}
    shown = json.loads(sh("dvc", "exp", "show", "--json", cwd=repo))
    experiments = [exp for commit in shown for exp in (commit.get("experiments") or [])]
    runs = [run for exp in experiments for run in exp["revs"] if run.get("name") == "lr5e-4"]
    assert runs, shown
    data = runs[0]["data"]
    params = data["params"]["params.yaml"]["data"]
    assert params["train"]["learning_rate"] == 5e-4
    assert params["preset"] == "demo" and params["tasks"] == ["rte"]  # composed from conf/, not edited
    assert "accuracy" in data["metrics"]["metrics/lgtm/rte.json"]["data"]["dev"]["dev"]


def test_what_a_killed_stage_leaves_half_written_is_invisible_to_dvc(repo, first_repro):
    """pipeline/atomic.py writes beside an output as `.NAME.tmp-PID`; a SIGKILL leaves it."""
    stale_metrics = repo / "metrics/kd/.rte.json.tmp-999"
    stale_predictions = repo / "predictions/kd/.rte.tmp-999"
    stale_metrics.write_text('{"dev": {"dev": {"accuracy": 0.1')  # cut short
    stale_predictions.mkdir()
    (stale_predictions / "RTE.tsv").write_text("index\tprediction\n0\tentail")
    try:
        assert changed_stages(repo) == set()
        shown = json.loads(sh("dvc", "metrics", "show", "--json", cwd=repo))
        assert not any("error" in json.dumps(entry) for entry in shown.values()), shown
    finally:
        stale_metrics.unlink()
        shutil.rmtree(stale_predictions)


def outputs_in_place(repo: Path) -> dict[str, bytes]:
    """A few outputs of every stage but `params` (whose failure is the point), by path."""
    paths = ["data/glue/cola/train.jsonl", "models/rte/student/config.json",
             "data/tokenized/rte/dataset_dict.json", "runs/finetune-teacher/rte/summary.json",
             "runs/lgtm/rte/summary.json", "runs/kd/rte/summary.json", "metrics/lgtm/rte.json", "reports/results.md"]
    return {path: (repo / path).read_bytes() for path in paths}


def dvc_fails(*args: str, repo: Path) -> subprocess.CompletedProcess:
    # A closed port: the hub is unreachable at once.
    result = run("dvc", *args, cwd=repo, env=environment(HF_ENDPOINT="http://127.0.0.1:9"))
    assert result.returncode != 0, result.stdout[-2000:]
    return result


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p["train"].update(learning_rat=p["train"].pop("learning_rate")),
         "error: params.yaml: train.learning_rat: unknown key; allowed keys: batch_size, "),
        (lambda p: p["train"].update(learning_rate=-1),
         "error: params.yaml: train.learning_rate: Input should be greater than 0 (got -1)"),
        (lambda p: p["launch"].update(checkpoint_step=5),  # a key that no stage reads
         "error: params.yaml: launch.checkpoint_step: unknown key; allowed keys: workers, checkpoint_steps"),
    ],
)
def test_bad_params_stop_dvc_repro_before_any_output_is_removed(repo, first_repro, edit, message):
    before = outputs_in_place(repo)
    original = (repo / "params.yaml").read_text()
    try:
        edit_params(repo, edit)
        result = dvc_fails("repro", repo=repo)
    finally:
        (repo / "params.yaml").write_text(original)
    assert message in result.stderr
    assert "Running stage 'params'" in result.stdout and result.stdout.count("Running stage") == 1
    assert outputs_in_place(repo) == before


def test_an_experiment_on_an_unreachable_hub_fails_fast_and_keeps_the_data(repo, first_repro):
    before = outputs_in_place(repo)
    try:
        result = dvc_fails("exp", "run", "-S", "preset=paper", repo=repo)
    finally:
        sh("git", "checkout", "--", "params.yaml", cwd=repo)
    assert "is unreachable" in result.stderr and "-S data.source=dir -S data.glue_dir=PATH" in result.stderr
    assert outputs_in_place(repo) == before


def test_plots_render_offline(repo, first_repro, tmp_path):
    """The page `dvc plots show` writes carries Vega itself: no script is fetched from a CDN."""
    sh(sys.executable, "-m", "stages", "plots-template", cwd=repo)
    sh("dvc", "plots", "show", "-o", str(tmp_path / "plots"), cwd=repo)
    page = (tmp_path / "plots/index.html").read_text()
    assert "<script src=" not in page and "cdn.jsdelivr" not in page
    # One chart per task and quantity, every run in it (the repo's tasks: rte).
    assert page.count("vegaEmbed(") == 2 and "plots/rte/dev.csv" in page and '"run": "LGTM"' in page
    # Drawn, not only written: a headless browser without network renders every plot to SVG.
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    assert browser, "a headless Chromium is needed to check that the plots draw offline"
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
                          "--proxy-server=127.0.0.1:9", "--dump-dom", (tmp_path / "plots/index.html").as_uri()],
                         capture_output=True, text=True, timeout=300).stdout
    assert dom.count('role="graphics-document"') == page.count("vegaEmbed(")
    # Drawn for a reader: titled with the task and metric, and every run's kept score written out
    # (the teacher, KD, TAKD, RCO and LGTM).
    assert ">RTE: accuracy on the held-out split at each evaluation</text>" in dom
    assert ">RTE: training losses by step</text>" in dom
    assert len(re.findall(r">\d+\.\d at step \d+( \(\d+ tied\))?</text>", dom)) == 5


def test_exp_show_on_a_fresh_clone_has_every_metric(repo, first_repro, tmp_path):
    """The metrics are in git: a clone that has run nothing still shows the committed run's."""
    clone = tmp_path / "clone"
    sh("git", "clone", "-q", str(repo), str(clone), cwd=tmp_path)
    table = sh("dvc", "exp", "show", "--no-pager", "--only-changed", "--keep", "lgtm/rte.json", cwd=clone)
    assert "!" not in table
    shown = json.loads(sh("dvc", "exp", "show", "--json", cwd=clone))
    metrics = shown[0]["data"]["metrics"]
    assert metrics["metrics/lgtm/rte.json"]["data"]["dev"]["dev"]["accuracy"] >= 0
