"""`predict`: test predictions of any checkpoint, like the authors' inference command.

    python -m stages predict --model CHECKPOINT_DIR --task rte --out DIR
    accelerate launch -m stages.tools.predict --model CHECKPOINT_DIR --task rte --out DIR

Writes DIR/{CoLA,SST-2,...}.tsv in the benchmark server's format (MNLI also writes MNLI-mm.tsv
and AX.tsv). The pipeline's own runs are predicted by the `evaluate` stage.
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from stages.command import PARAMS_OPTION, run_main
from stages.paths import GLUE_ROOT

log = logging.getLogger("predict")


def main(
    model: Path = typer.Option(..., help="A checkpoint directory (config.json, weights, tokenizer)."),
    task: str = typer.Option(..., help="The GLUE task the checkpoint was trained on."),
    out: Path = typer.Option(..., help="The directory to write the prediction files to."),
    params_file: Path = PARAMS_OPTION,
) -> None:
    """Predict the test sets of a task with any checkpoint."""
    from pipeline.glue.tasks import get_task
    from pipeline.models.loading import load_task_model, load_tokenizer
    from pipeline.reporting.evaluation import write_prediction_files
    from pipeline.settings.params import load_params
    from pipeline.training.test_files import predict_test_files

    params = load_params(params_file)
    glue_task = get_task(task)
    network = load_task_model(model, glue_task)
    files = predict_test_files(network, load_tokenizer(model), GLUE_ROOT, glue_task,
                               max_seq_length=params.data.max_seq_length, batch_size=params.train.eval_batch_size)
    write_prediction_files(out, files)
    log.info("wrote %s: %s", out, ", ".join(f"{name} ({len(rows)} rows)" for name, rows in files.items()))


if __name__ == "__main__":
    run_main(main)
