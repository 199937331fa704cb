"""Stage `evaluate@TASK-METHOD` (and `evaluate-teacher@TASK`): apply a run's best checkpoint.

    python -m stages evaluate --task mnli --method lgtm

Writes metrics/TASK/METHOD.json (every dev split, MNLI matched and mismatched, with the
majority-class baseline of each and the run's selection record) and predictions/METHOD/TASK/
(the test sets in the benchmark server's format; MNLI also writes MNLI-mm.tsv and AX.tsv).

Evaluation and prediction share one stage because each stage process spends about 4.5 s
importing torch and transformers before it can load a model: two processes per run would
add two minutes to the demo for no gain.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer

from pipeline.params import load_params
from pipeline.tasks import get_task
from stages.common import PARAMS_OPTION, glue_root, metrics_file, predictions_dir, run_dir, tokenized_dir

log = logging.getLogger("evaluate")


def main(
    task: str = typer.Option(..., help="A trainable GLUE task."),
    method: str = typer.Option(..., help="finetune-teacher, finetune, kd, prokt or lgtm."),
    params_file: Path = PARAMS_OPTION,
) -> None:
    """Evaluate a run's best checkpoint on the dev splits and predict the test splits."""
    import datasets
    from pipeline.atomic import write_json
    from pipeline.models import load_task_model, load_tokenizer
    from pipeline.predict import dev_metrics, predict_test_files, write_prediction_files

    params = load_params(params_file)
    glue_task = get_task(task)
    run = run_dir(task, method)
    model = load_task_model(run / "model", glue_task)
    tokenizer = load_tokenizer(run / "model")
    batch_size = params.train.eval_batch_size

    result = dev_metrics(model, tokenizer, datasets.load_from_disk(str(tokenized_dir(task))), glue_task, batch_size)
    for split, scores in result["dev"].items():
        log.info("%s %s %s: %s (majority class: %s)", task, method, split, scores, result["majority_class"][split])
    summary = json.loads((run / "summary.json").read_text())
    result["selection"] = {key: summary[key] for key in ("held_out", "selection_metric", "best", "best_step", "steps")}
    result["teacher_best"] = summary["teacher_best"]

    files = predict_test_files(model, tokenizer, glue_root(), glue_task,
                               max_seq_length=params.data.max_seq_length, batch_size=batch_size)
    write_prediction_files(predictions_dir(method, task), files)
    write_json(metrics_file(task, method), result)
    log.info("wrote %s and %s (%s)", metrics_file(task, method), predictions_dir(method, task),
             ", ".join(f"{name}: {len(rows)} rows" for name, rows in files.items()))
