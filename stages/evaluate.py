"""Stage `evaluate@TASK-METHOD` (and `evaluate-teacher@TASK`): a run's best checkpoint, scored.

    python -m stages evaluate --task mnli --method lgtm

Reads the logits the training stage saved for the best checkpoint (runs/TASK/METHOD/outputs/)
and writes metrics/TASK/METHOD.json (every dev split, MNLI matched and mismatched, with the
majority-class baseline of each and the run's selection record) and predictions/METHOD/TASK/
(the test sets in the benchmark server's format; MNLI's also has MNLI-mm.tsv and AX.tsv).

The model is applied while training has it loaded: a stage process that loads a model first
spends about 4.5 s importing torch and transformers, which for the demo's 30 runs would be
two and a half minutes. This stage needs numpy alone, so changing how metrics or server files
are made reruns it in a second, never a training run.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer

from pipeline.params import load_params
from pipeline.tasks import get_task
from stages.common import PARAMS_OPTION, glue_data_dir, metrics_file, predictions_dir, run_dir

log = logging.getLogger("evaluate")


def main(
    task: str = typer.Option(..., help="A trainable GLUE task."),
    method: str = typer.Option(..., help="finetune-teacher, finetune, kd, prokt or lgtm."),
    params_file: Path = PARAMS_OPTION,
) -> None:
    """Dev metrics and test predictions of a run's best checkpoint."""
    from pipeline.atomic import write_json
    from pipeline.data.normalized import read_split, split_path
    from pipeline.evaluation import dev_metrics, server_files, write_prediction_files
    from pipeline.outputs import load_outputs, output_keys

    load_params(params_file)  # every stage validates params.yaml before any work
    glue_task = get_task(task)
    run = run_dir(task, method)
    outputs = load_outputs(run / "outputs", output_keys(glue_task))
    train_labels = [example["label"] for example in read_split(split_path(glue_data_dir(task), "train"))]

    result = dev_metrics(glue_task, outputs, train_labels)
    for split, scores in result["dev"].items():
        log.info("%s %s %s: %s (majority class: %s)", task, method, split, scores, result["majority_class"][split])
    summary = json.loads((run / "summary.json").read_text())
    result["selection"] = {key: summary[key] for key in ("held_out", "selection_metric", "best", "best_step", "steps")}
    result["teacher_best"] = summary["teacher_best"]

    files = server_files(glue_task, outputs)
    write_prediction_files(predictions_dir(method, task), files)
    write_json(metrics_file(task, method), result)
    log.info("wrote %s and %s (%s)", metrics_file(task, method), predictions_dir(method, task),
             ", ".join(f"{name}: {len(rows)} rows" for name, rows in files.items()))
