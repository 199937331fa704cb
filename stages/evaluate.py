"""Stage `evaluate`: every run's kept student scored and predicted, and each method's
benchmark-server zip.

    python -m stages.evaluate

For the teacher alone and each method of `methods`, on each task of `tasks`: reads the logits
the training stage saved for the kept checkpoint (runs/RUN/TASK/outputs/) and writes
metrics/RUN/TASK.json (every dev split, MNLI matched and mismatched, with the majority-class
baseline of each, the run's selection record, and the test scores where the true test labels
are known: the synthetic data) and predictions/RUN/TASK/ (the test sets in
the server's format; MNLI's also has MNLI-mm.tsv and AX.tsv). Then, for each method,
submissions/METHOD.zip (all 11 files; tasks not trained are filled with the training majority
class) and submissions/METHOD.json (which files were predicted, which filled). Last, metrics/summary.json:
each run's average and per-task headline, what `dvc exp show` leads with.

The model is applied while training has it loaded: this stage needs numpy alone, so changing
how metrics or server files are made reruns it in seconds, never a training run.
"""

from __future__ import annotations

import logging
from pathlib import Path

from stages.command import PARAMS_OPTION, run_main
from stages.paths import GLUE_ROOT, METRICS_DIR, PREDICTIONS_ROOT, SUBMISSIONS_DIR, glue_data_dir, run_dir

log = logging.getLogger("evaluate")


def main(params_file: Path = PARAMS_OPTION) -> None:
    """Dev metrics, test predictions and submission zips of every run."""
    from pipeline.atomic import write_json, write_text
    from pipeline.glue.normalized import split_path
    from pipeline.glue.tasks import get_task
    from pipeline.reporting.evaluation import evaluate_run
    from pipeline.reporting.results_table import GLUE_SOURCES
    from pipeline.reporting.server_score import task_truth_dir
    from pipeline.reporting.submission import build_submission
    from pipeline.reporting.summary_metrics import summary
    from pipeline.settings.params import load_params
    from pipeline.settings.runs import reported_runs

    params = load_params(params_file)
    runs = reported_runs(params.methods.all())
    for run in runs:
        for task in params.tasks:
            evaluate_run(get_task(task), run_dir(run, task), split_path(glue_data_dir(task), "train"),
                         metrics_path=METRICS_DIR / run / f"{task}.json", predictions_dir=PREDICTIONS_ROOT / run / task,
                         truth_dir=task_truth_dir(GLUE_ROOT, task))
    write_json(METRICS_DIR / "summary.json", summary(METRICS_DIR, runs, params.tasks))
    if params.data.source not in GLUE_SOURCES:  # RT snippets: scored here, no GLUE test set to submit
        SUBMISSIONS_DIR.mkdir(parents=True, exist_ok=True)
        write_text(SUBMISSIONS_DIR / "README.txt", f"No benchmark-server zips: data.source {params.data.source} is "
                   "not GLUE's data, so its test predictions (predictions/) are not a GLUE submission.\n")
        log.info("wrote %s and %s; no submission zips for data.source %s", METRICS_DIR, PREDICTIONS_ROOT,
                 params.data.source)
        return
    for method in params.methods.all():
        zip_path = SUBMISSIONS_DIR / f"{method}.zip"
        report = build_submission([PREDICTIONS_ROOT / method / task for task in params.tasks], GLUE_ROOT, zip_path)
        write_json(zip_path.with_suffix(".json"), report)
        if report["filled_with_majority_class"]:
            log.warning("%s: not trained, filled with the training majority class: %s", zip_path,
                        ", ".join(report["filled_with_majority_class"]))
    log.info("wrote %s, %s and %s", METRICS_DIR, PREDICTIONS_ROOT, SUBMISSIONS_DIR)


if __name__ == "__main__":
    run_main(main)
