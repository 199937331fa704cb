"""The output layout of dvc.yaml: where each stage reads and writes, relative to the
repository root (DVC runs every command there)."""

from __future__ import annotations

from pathlib import Path

from pipeline.settings.methods import FINETUNE_TEACHER

GLUE_ROOT = Path("data/glue")


def glue_data_dir(task: str) -> Path:
    return GLUE_ROOT / task


def pretrained_dir(task: str) -> Path:
    return Path("models") / task / "pretrained"


def tokenized_dir(task: str) -> Path:
    return Path("data/tokenized") / task


def run_dir(task: str, run: str) -> Path:
    return Path("runs") / task / run


def checkpoint_dir(task: str, run: str) -> Path:
    return Path("checkpoints") / task / run


def live_dir(task: str, run: str) -> Path:
    return Path("live") / task / run


def metrics_file(task: str, run: str) -> Path:
    return Path("metrics") / task / f"{run}.json"


def predictions_dir(run: str, task: str) -> Path:
    return Path("predictions") / run / task


def submission_zip(method: str) -> Path:
    return Path("submissions") / f"{method}.zip"


REPORTS_DIR = Path("reports")
METRICS_DIR = Path("metrics")


def run_layout(task: str, run: str) -> dict[str, Path]:
    """The paths of a training run, as `pipeline.training.run.RunPaths` names them."""
    return {
        "tokenized": tokenized_dir(task),
        "pretrained": pretrained_dir(task),
        "finetuned_teacher": run_dir(task, FINETUNE_TEACHER) / "model",
        "run": run_dir(task, run),
        "live": live_dir(task, run),
        "checkpoints": checkpoint_dir(task, run),
    }
