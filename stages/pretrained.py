"""Stage `pretrained@TASK`: the starting teacher and student as model directories.

    python -m stages.pretrained --task rte

Writes models/TASK/pretrained/{teacher,student}/ (config, weights, tokenizer, label names).
For `tiny` models the tokenizer is trained on data/glue/TASK/train.jsonl, and both models are
pre-trained on it as masked language models (model.tiny_pretraining).
"""

from __future__ import annotations

import logging
from pathlib import Path

import typer

from stages.command import PARAMS_OPTION, run_main
from stages.paths import glue_data_dir, pretrained_dir

log = logging.getLogger("pretrained")


def main(task: str = typer.Option(..., help="A trainable GLUE task."), params_file: Path = PARAMS_OPTION) -> None:
    """Build or fetch the teacher and student a task starts from."""
    from pipeline.atomic import atomic_path
    from pipeline.glue.normalized import read_split, split_path
    from pipeline.glue.tasks import get_task
    from pipeline.models.starting import starting_models
    from pipeline.settings.params import load_params

    params = load_params(params_file)
    glue_task = get_task(task)
    train_file = split_path(glue_data_dir(task), "train")

    def train_examples():
        for example in read_split(train_file):
            yield example["text_a"], example["text_b"]

    teacher, student, tokenizer = starting_models(
        params.model, task=glue_task, train_examples=train_examples, max_seq_length=params.data.max_seq_length,
        seed=params.seed, timeout_s=params.hub_timeout_s,
    )
    with atomic_path(pretrained_dir(task)) as out:
        for role, model in (("teacher", teacher), ("student", student)):
            model.save_pretrained(out / role)
            tokenizer.save_pretrained(out / role)
            n_params = sum(p.numel() for p in model.parameters())
            log.info("%s %s: %s, %.2fM parameters, vocabulary %d", task, role, model.config.model_type,
                     n_params / 1e6, len(tokenizer))
    log.info("wrote %s", pretrained_dir(task))


if __name__ == "__main__":
    run_main(main)
