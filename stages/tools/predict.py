"""`predict`: test predictions of any checkpoint, like the authors' inference command.

    python -m stages predict --model CHECKPOINT_DIR --task rte --out DIR
    accelerate launch -m stages.tools.predict --model CHECKPOINT_DIR --task rte --out DIR

Writes DIR/{CoLA,SST-2,...}.tsv in the benchmark server's format (MNLI also writes MNLI-m.tsv,
MNLI-mm.tsv and AX.tsv). DIR may already exist and hold anything: only the files of those names
are written into it, each atomically, and every other file in DIR is kept. A file of one of
those names already there is replaced only with --force (it may be yours, not an earlier
prediction); without it, and for an --out that is a file, the command stops before any work
and writes nothing. The pipeline's own runs are predicted by the `evaluate` stage.
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
    out: Path = typer.Option(..., help="The directory to write the prediction files into (created if needed; "
                                       "its other files are kept)."),
    force: bool = typer.Option(False, "--force", help="Replace prediction files of the same names already in --out."),
    params_file: Path = PARAMS_OPTION,
) -> None:
    """Predict the test sets of a task with any checkpoint."""
    from pipeline.glue.tasks import get_task, test_targets
    from pipeline.models.loading import load_task_model, load_tokenizer
    from pipeline.reporting.evaluation import add_prediction_files
    from pipeline.settings.params import load_params
    from pipeline.training.server_predictions import predict_test_files

    params = load_params(params_file)
    glue_task = get_task(task)
    check_out(out, [target.submission_files[split.name] for target, split, _ in test_targets(glue_task)], force)
    network = load_task_model(model, glue_task)
    files = predict_test_files(network, load_tokenizer(model), GLUE_ROOT, glue_task,
                               max_seq_length=params.data.max_seq_length, batch_size=params.train.eval_batch_size)
    replaced = add_prediction_files(out, files)
    log.info("wrote %s: %s", out, ", ".join(f"{name} ({len(rows)} rows)" for name, rows in files.items()))
    if replaced:
        log.info("replaced the earlier %s in %s", ", ".join(replaced), out)


def check_out(out: Path, names: list[str], force: bool) -> None:
    """Refuse, before the model is loaded, an --out the files `names` cannot be written into:
    a file (it is never turned into a directory), a path under a file, a directory holding a
    directory of one of those names, or, unless `force`, a file of one of those names."""
    from pipeline.errors import InputError

    existing = next(path for path in (out, *out.parents) if path.exists())
    if not existing.is_dir():
        raise InputError(f"--out {out}: {existing} is a file; give a directory to write the prediction files into")
    blocking = [name for name in names if (out / name).is_dir()]
    if blocking:
        raise InputError(f"--out {out}: {', '.join(blocking)} is a directory there, not a prediction file")
    taken = [name for name in names if (out / name).exists()]
    if taken and not force:
        raise InputError(f"--out {out}: {', '.join(taken)} already there; --force replaces it, or give another "
                         "directory")


if __name__ == "__main__":
    run_main(main)
