"""What every stage shares: the params file option and the output layout of dvc.yaml.

Stage modules import the heavy libraries (torch, transformers, datasets) inside their
commands, not at the top: the CLI imports every stage module, and a stage that only zips
files should not pay seconds of imports for the others. Across the hundred-odd stage
processes of the demo, that is minutes.
"""

from __future__ import annotations

from pathlib import Path

import typer

PARAMS_OPTION = typer.Option("params.yaml", "--params", help="The params file (the DVC composition).")


def glue_root() -> Path:
    return Path("data/glue")


def glue_data_dir(task: str) -> Path:
    return glue_root() / task


def pretrained_dir(task: str) -> Path:
    return Path("models") / task / "pretrained"


def tokenized_dir(task: str) -> Path:
    return Path("data/tokenized") / task


def run_dir(task: str, method: str) -> Path:
    return Path("runs") / task / method


def checkpoint_dir(task: str, method: str) -> Path:
    return Path("checkpoints") / task / method


def live_dir(task: str, method: str) -> Path:
    return Path("live") / task / method


def metrics_file(task: str, method: str) -> Path:
    return Path("metrics") / task / f"{method}.json"


def predictions_dir(method: str, task: str) -> Path:
    return Path("predictions") / method / task


def submission_zip(method: str) -> Path:
    return Path("submissions") / f"{method}.zip"


def reports_dir() -> Path:
    return Path("reports")
