"""Stage `tokenize`: every task's splits as token ids, with its teacher's tokenizer.

    python -m stages.tokenize                   # every task of `tasks`
    python -m stages.tokenize --task rte        # one

Reads data/glue/TASK/ (and data/glue/ax/ for MNLI, whose model predicts AX) and
models/TASK/teacher/; writes data/tokenized/TASK/ (a `datasets.DatasetDict` saved to disk:
input_ids, token_type_ids, attention_mask, labels, idx; AX's test split as `ax_test`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from stages.command import PARAMS_OPTION, run_main
from stages.paths import GLUE_ROOT, pretrained_dir, tokenized_dir

log = logging.getLogger("tokenize")


def main(task: list[str] | None = typer.Option(None, help="A trainable GLUE task (repeatable); default: tasks."),
         params_file: Path = PARAMS_OPTION) -> None:
    """Tokenize each task's normalised splits (and AX's with MNLI's)."""
    import pyarrow.compute as pc

    from pipeline.atomic import atomic_path
    from pipeline.glue.tasks import get_task
    from pipeline.glue.tokenized import tokenize_task
    from pipeline.models.loading import load_tokenizer
    from pipeline.settings.params import load_params

    params = load_params(params_file)
    max_length = params.data.max_seq_length
    for glue_task in [get_task(name) for name in (task or params.tasks)]:
        tokenizer = load_tokenizer(pretrained_dir(glue_task.name) / "teacher")
        dataset = tokenize_task(GLUE_ROOT, tokenizer, glue_task, max_length)
        with atomic_path(tokenized_dir(glue_task.name)) as out:
            dataset.save_to_disk(str(out))
        for name, split in dataset.items():
            # Lengths from the Arrow column itself: a Python list per example would not scale to MNLI.
            lengths = pc.list_value_length(split.data.column("input_ids"))
            log.info("%s %s: %d examples, mean length %.1f, truncated %d", glue_task.name, name, len(split),
                     pc.mean(lengths).as_py(), pc.sum(pc.greater_equal(lengths, max_length)).as_py() or 0)
    log.info("wrote %s", tokenized_dir("*"))


if __name__ == "__main__":
    run_main(main)
