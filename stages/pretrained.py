"""Stage `pretrained`: the starting teacher and student of every task of `tasks`.

    python -m stages.pretrained                 # every task of `tasks`
    python -m stages.pretrained --task rte      # one

Writes models/TASK/{teacher,student}/ (config, weights, tokenizer, label names). `tiny`
models share one vocabulary, learnt from the training text of every task of `data.tasks`, and
one masked-LM pre-training on it (model.tiny_pretraining); each task gets a copy under a
classification head of its own.
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from stages.command import PARAMS_OPTION, run_main
from stages.paths import glue_data_dir, pretrained_dir

log = logging.getLogger("pretrained")


def main(task: list[str] | None = typer.Option(None, help="A trainable GLUE task (repeatable); default: tasks."),
         params_file: Path = PARAMS_OPTION) -> None:
    """Build or fetch the teacher and student each task starts from."""
    from pipeline.atomic import atomic_path
    from pipeline.glue.normalized import read_split, split_path
    from pipeline.glue.tasks import get_task
    from pipeline.models.starting import starting_models
    from pipeline.settings.params import load_params

    params = load_params(params_file)
    texts_from = [get_task(name) for name in params.data.tasks if not get_task(name).predicted_with]

    def train_examples():
        for source in texts_from:
            for example in read_split(split_path(glue_data_dir(source.name), "train")):
                yield example["text_a"], example["text_b"]

    models = starting_models(params.model, tasks=[get_task(name) for name in (task or params.tasks)],
                             train_examples=train_examples, max_seq_length=params.data.max_seq_length, seed=params.seed,
                             timeout_s=params.hub_timeout_s, workers=params.launch.worker_count(2))
    for glue_task, teacher, student, tokenizer in models:
        with atomic_path(pretrained_dir(glue_task.name)) as out:
            for role, model in (("teacher", teacher), ("student", student)):
                model.save_pretrained(out / role)
                tokenizer.save_pretrained(out / role)
                n_params = sum(p.numel() for p in model.parameters())
                log.info("%s %s: %s, %.2fM parameters, vocabulary %d", glue_task.name, role, model.config.model_type,
                         n_params / 1e6, len(tokenizer))
        log.info("wrote %s", pretrained_dir(glue_task.name))


if __name__ == "__main__":
    run_main(main)
