"""Stage `evaluate@TASK-METHOD`: a method's kept student, scored and predicted.

    python -m stages.evaluate --task mnli --method lgtm

Reads the logits the training stage saved for the kept checkpoint (runs/TASK/METHOD/outputs/)
and writes metrics/TASK/METHOD.json (every dev split, MNLI matched and mismatched, with the
majority-class baseline of each and the run's selection record) and predictions/METHOD/TASK/
(the test sets in the benchmark server's format; MNLI's also has MNLI-mm.tsv and AX.tsv).

The model is applied while training has it loaded: a stage process that loads a model first
spends seconds importing torch and transformers. This stage needs numpy alone, so changing how
metrics or server files are made reruns it in a second, never a training run.
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from stages.command import PARAMS_OPTION, run_main
from stages.paths import glue_data_dir, metrics_file, predictions_dir, run_dir

log = logging.getLogger("evaluate")


def main(
    task: str = typer.Option(..., help="A trainable GLUE task."),
    method: str = typer.Option(..., help="A method of params.yaml's `methods`."),
    params_file: Path = PARAMS_OPTION,
) -> None:
    """Dev metrics and test predictions of a method's run."""
    from pipeline.glue.normalized import split_path
    from pipeline.glue.tasks import get_task
    from pipeline.reporting.evaluation import evaluate_run
    from pipeline.settings.params import load_params

    load_params(params_file)  # every stage validates params.yaml before any work
    evaluate_run(get_task(task), run_dir(task, method), split_path(glue_data_dir(task), "train"),
                           metrics_path=metrics_file(task, method), predictions_dir=predictions_dir(method, task))
    log.info("wrote %s and %s", metrics_file(task, method), predictions_dir(method, task))


if __name__ == "__main__":
    run_main(main)
