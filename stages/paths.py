"""The output layout of dvc.yaml: where each stage reads and writes, relative to the
repository root (DVC runs every command there)."""

from __future__ import annotations

from pathlib import Path

from pipeline.settings.runs import FINETUNE_TEACHER, TEACHER_ANCHORS, assistant_run

PARAMS_CHECKED = Path("data/params-checked.txt")
GLUE_ROOT = Path("data/glue")
TOKENIZED_ROOT = Path("data/tokenized")
MODELS_ROOT = Path("models")
RUNS_ROOT = Path("runs")
LIVE_ROOT = Path("live")
CHECKPOINTS_ROOT = Path("checkpoints")
METRICS_DIR = Path("metrics")
PREDICTIONS_ROOT = Path("predictions")
SUBMISSIONS_DIR = Path("submissions")
REPORTS_DIR = Path("reports")
INFLUENCE_REPORTS_DIR = REPORTS_DIR / "influence"
PLOTS_DIR = Path("plots")


def glue_data_dir(task: str) -> Path:
    return GLUE_ROOT / task


def pretrained_dir(task: str) -> Path:
    return MODELS_ROOT / task


def tokenized_dir(task: str) -> Path:
    return TOKENIZED_ROOT / task


def run_dir(run: str, task: str) -> Path:
    return RUNS_ROOT / run / task


def influence_file(task: str) -> Path:
    """LGTM's per-sample influence rows of a task (its step's `samples_file`, in its run)."""
    return run_dir("lgtm", task) / "influence.parquet"


def run_layout(run: str, task: str) -> dict[str, Path]:
    """The paths of a training run, as `pipeline.training.run.RunPaths` names them."""
    return {
        "tokenized": tokenized_dir(task),
        "pretrained": pretrained_dir(task),
        "finetuned_teacher": run_dir(FINETUNE_TEACHER, task) / "model",
        "assistant": run_dir(assistant_run(run), task) / "model",
        "anchors": run_dir(TEACHER_ANCHORS, task),
        "run": run_dir(run, task),
        "live": LIVE_ROOT / run / task,
        "checkpoints": CHECKPOINTS_ROOT / run / task,
    }
