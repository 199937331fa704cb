"""How often fine-tuning one pre-trained model never leaves a constant prediction, over seeds
(docs/demo_training.md, "Some runs never leave the constant prediction").

    python -m benchmarks.plateau --task sst2 --role teacher --seeds 12
    python -m benchmarks.plateau --task sst2 --role teacher --seeds 12 --steps 189
    python -m benchmarks.plateau --task qqp --role student --seeds 12 --learning-rate 5e-4 --no-dropout

For each seed it fine-tunes models/TASK/ROLE (what the `pretrained` stage wrote) on the task's
cross-entropy alone, with params.yaml's optimizer and linear schedule (`train`), batches of
`train.batch_size` rows in a seeded order, for `--steps` steps (default: one epoch of full
batches, 62 for the demo's 2,000 rows of 32, where the stages take a 63rd of 16), then predicts
the dev split. A run is *constant* when one class takes at least 95 % of its dev predictions.
Prints one line per seed, then one JSON line: the settings, each seed's dev accuracy and largest
predicted share, and how many runs are constant.

A plain loop, not the stages': no checkpoint selection (the stages keep the best of their
evaluations), and its seeds are not the stages' seeds. Its counts run higher than the stages'
(why is not established); compare settings with each other within it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import torch.nn.functional as F

from pipeline.glue.normalized import read_split, split_path
from pipeline.glue.tasks import get_task
from pipeline.models.loading import load_task_model, load_tokenizer
from pipeline.optim import make_optimizer, step_optimizer
from pipeline.settings.params import load_params

CONSTANT_SHARE = 0.95  # a run predicting one class for this share of the dev rows has not left it


def _encode(tokenizer, rows: list[dict], max_length: int) -> dict:
    second = [row["text_b"] for row in rows] if rows[0].get("text_b") is not None else None
    return dict(tokenizer([row["text_a"] for row in rows], second, padding=True, truncation=True,
                          max_length=max_length, return_tensors="pt"))


def fine_tune_once(model_dir: Path, task_name: str, data_dir: Path, *, train, learning_rate: float, steps: int | None,
                   dropout: bool, max_length: int, seed: int) -> dict:
    """Dev accuracy and largest predicted share of one seeded fine-tuning of the model in `model_dir`."""
    task = get_task(task_name)
    train_rows = list(read_split(split_path(data_dir, "train")))
    dev_rows = list(read_split(split_path(data_dir, task.dev_splits[0].name)))
    tokenizer = load_tokenizer(model_dir)
    torch.manual_seed(seed)  # dropout masks
    model = load_task_model(model_dir, task)
    if not dropout:
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
    batch_size = train.batch_size
    steps = steps or len(train_rows) // batch_size
    optimizer, scheduler = make_optimizer(model, train, learning_rate=learning_rate, total_steps=steps)
    generator = torch.Generator().manual_seed(seed)
    order: list[int] = []
    model.train()
    for _ in range(steps):
        if len(order) < batch_size:  # a new epoch, in a new order
            order += torch.randperm(len(train_rows), generator=generator).tolist()
        rows = [train_rows[i] for i in order[:batch_size]]
        del order[:batch_size]
        logits = model(**_encode(tokenizer, rows, max_length)).logits
        F.cross_entropy(logits, torch.tensor([row["label"] for row in rows])).backward()
        step_optimizer(optimizer, scheduler)
    model.eval()
    predictions = []
    with torch.no_grad():
        for start in range(0, len(dev_rows), 100):
            predictions += model(**_encode(tokenizer, dev_rows[start:start + 100], max_length)).logits.argmax(-1).tolist()
    labels = [row["label"] for row in dev_rows]
    largest_share = max(predictions.count(label) for label in set(predictions)) / len(predictions)
    return {"seed": seed, "accuracy": sum(p == y for p, y in zip(predictions, labels)) / len(labels),
            "largest_share": largest_share, "constant": largest_share >= CONSTANT_SHARE}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", required=True)
    parser.add_argument("--role", choices=("teacher", "student"), required=True)
    parser.add_argument("--seeds", type=int, default=12, help="seeds 1 to N")
    parser.add_argument("--learning-rate", type=float, help="default: the role's rate in params.yaml")
    parser.add_argument("--steps", type=int, help="default: one epoch of full batches")
    parser.add_argument("--no-dropout", action="store_true")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    params = load_params(args.params)
    rate = args.learning_rate or (params.train.teacher_learning_rate if args.role == "teacher"
                                  else params.train.learning_rate)
    runs = []
    for seed in range(1, args.seeds + 1):
        run = fine_tune_once(Path("models") / args.task / args.role, args.task, Path("data/glue") / args.task,
                             train=params.train, learning_rate=rate, steps=args.steps, dropout=not args.no_dropout,
                             max_length=params.data.max_seq_length, seed=seed)
        runs.append(run)
        print(f"seed {seed}: dev accuracy {run['accuracy']:.3f}, largest predicted share {run['largest_share']:.2f}",
              flush=True)
    print(json.dumps({"task": args.task, "role": args.role, "learning_rate": rate, "steps": args.steps or "epoch",
                      "dropout": not args.no_dropout, "runs": runs, "constant": sum(r["constant"] for r in runs),
                      "seeds": len(runs)}))


if __name__ == "__main__":
    main()
