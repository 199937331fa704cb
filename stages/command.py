"""How every command runs: the process set up first (stages/environment.py), its logs, and the
one-line errors and exit statuses of bad input (2, like a usage error) and of a diverged run (1)."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

import typer

from pipeline.errors import InputError, TrainingDiverged
from stages.environment import setup_process

PARAMS_OPTION = typer.Option("params.yaml", "--params", help="The params file (the DVC composition).")


def configure_logging() -> None:
    # Inside a launch (pipeline/launch.py) the main process speaks for all; the others warn.
    level = logging.INFO if os.environ.get("RANK", "0") == "0" else logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("accelerate").setLevel(logging.WARNING)  # a line per file of every checkpoint


def run(app: typer.Typer) -> None:
    """Run a command line, turning the project's errors into one line per problem and an exit status."""
    setup_process()  # before the command imports torch
    configure_logging()
    try:
        app()
    except InputError as error:
        # One line per problem (a params file may have several), each marked as an error.
        print("\n".join(f"error: {line}" for line in str(error).splitlines()), file=sys.stderr)
        raise SystemExit(2) from None
    except TrainingDiverged as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None


def app_of(main: Callable) -> typer.Typer:
    """A command line of one command."""
    app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)
    app.command()(main)
    return app


def run_main(main: Callable) -> None:
    """What `python -m stages.NAME` runs: the stage's `main`."""
    run(app_of(main))
