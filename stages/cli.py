"""The `lgtm` command line: one subcommand per DVC stage."""

from __future__ import annotations

import logging
import os
import sys

# Our logs say what each stage does; the libraries' per-shard and per-map bars only add noise
# to DVC's output. Set before any Hugging Face library is imported (they read it on import).
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

import typer  # noqa: E402

from pipeline.errors import InputError, TrainingDiverged  # noqa: E402
from stages import bench, download, evaluate, predict, pretrained, scale, submit, table, tokenize, train  # noqa: E402

app = typer.Typer(
    name="lgtm",
    help="LGTM (Learning Good Teacher Matters) as DVC stages. Run from the repository root.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
app.command("download")(download.main)
app.command("pretrained")(pretrained.main)
app.command("tokenize")(tokenize.main)
app.command("finetune-teacher")(train.finetune_teacher)
app.command("distill")(train.distill)
app.command("evaluate")(evaluate.main)
app.command("submit")(submit.main)
app.command("table")(table.main)
app.command("predict")(predict.main)
app.command("bench")(bench.main)
app.command("scale")(scale.main)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("accelerate").setLevel(logging.WARNING)  # a line per file of every checkpoint
    try:
        app()
    except InputError as error:
        # Bad input: one line naming where and what was expected, exit status 2 like a usage error.
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except TrainingDiverged as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
