"""What every stage shares: the params file option and the output layout of dvc.yaml."""

from __future__ import annotations

from pathlib import Path

import typer

PARAMS_OPTION = typer.Option("params.yaml", "--params", help="The params file (the DVC composition).")


def glue_data_dir(task: str) -> Path:
    return Path("data/glue") / task


def pretrained_dir(task: str) -> Path:
    return Path("models") / task / "pretrained"


def tokenized_dir(task: str) -> Path:
    return Path("data/tokenized") / task
