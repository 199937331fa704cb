"""How often fine-tuning one pre-trained model never leaves a constant prediction, over seeds
(docs/demo_training.md, "Some runs never leave the constant prediction").

    python -m benchmarks.plateau --task sst2 --role teacher --seeds 12
    python -m benchmarks.plateau --task sst2 --role teacher --seeds 12 --steps 189
    python -m benchmarks.plateau --task qqp --role student --seeds 12 --learning-rate 5e-4 --no-dropout

For each seed it fine-tunes models/TASK/ROLE (what the `pretrained` stage wrote) on the task's
cross-entropy alone, with params.yaml's optimizer and linear schedule (`train`), over the
`tokenize` stage's splits through the training loop's own loader (pipeline/training/batches.py),
shuffled by the seed, for `--steps` steps (default: one epoch, as the stages: 63 for the demo),
then predicts the dev split. A run is *constant* when one class takes at least 95 % of its dev
predictions. Prints one line per seed, then one JSON line: the settings, each seed's dev
accuracy and largest predicted share, and how many runs are constant.

A plain loop, not the stages': no checkpoint selection (the stages keep the best of their
evaluations), and its seeds are not the stages' seeds. Its counts run higher than the stages'
(why is not established); compare settings with each other within it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from pipeline.glue.tasks import get_task
from pipeline.models.loading import load_task_model, load_tokenizer
from pipeline.optim import make_optimizer, step_optimizer
from pipeline.settings.params import load_params
from pipeline.training.batches import loader

CONSTANT_SHARE = 0.95  # a run predicting one class for this share of the dev rows has not left it


def fine_tune_once(model_dir: Path, task_name: str, tokenized_dir: Path, *, train, learning_rate: float,
                   steps: int | None, dropout: bool, seed: int) -> dict:
    """Dev accuracy and largest predicted share of one seeded fine-tuning of the model in `model_dir`."""
    import datasets

    task = get_task(task_name)
    splits = datasets.load_from_disk(str(tokenized_dir))
    tokenizer = load_tokenizer(model_dir)
    torch.manual_seed(seed)  # dropout masks
    model = load_task_model(model_dir, task)
    if not dropout:
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
    batches = loader(splits["train"], tokenizer, train.batch_size, shuffle=True)
    batches.generator.manual_seed(seed)
    steps = steps or len(batches)
    optimizer, scheduler = make_optimizer(model, train, learning_rate=learning_rate, total_steps=steps)
    model.train()
    done = 0
    while done < steps:  # one pass per epoch, each in a new order
        for batch in batches:
            batch.pop("idx", None)
            model(**batch).loss.backward()
            step_optimizer(optimizer, scheduler)
            done += 1
            if done == steps:
                break
    model.eval()
    predictions, labels = [], []
    with torch.no_grad():
        for batch in loader(splits[task.dev_splits[0].name], tokenizer, train.eval_batch_size, shuffle=False):
            labels += batch.pop("labels").tolist()
            batch.pop("idx", None)
            predictions += model(**batch).logits.argmax(-1).tolist()
    largest_share = max(predictions.count(label) for label in set(predictions)) / len(predictions)
    return {"seed": seed, "accuracy": sum(p == y for p, y in zip(predictions, labels)) / len(labels),
            "largest_share": largest_share, "constant": largest_share >= CONSTANT_SHARE}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", required=True)
    parser.add_argument("--role", choices=("teacher", "student"), required=True)
    parser.add_argument("--seeds", type=int, default=12, help="seeds 1 to N")
    parser.add_argument("--learning-rate", type=float, help="default: the role's rate in params.yaml")
    parser.add_argument("--steps", type=int, help="default: one epoch")
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
        run = fine_tune_once(Path("models") / args.task / args.role, args.task, Path("data/tokenized") / args.task,
                             train=params.train, learning_rate=rate, steps=args.steps, dropout=not args.no_dropout,
                             seed=seed)
        runs.append(run)
        print(f"seed {seed}: dev accuracy {run['accuracy']:.3f}, largest predicted share {run['largest_share']:.2f}",
              flush=True)
    print(json.dumps({"task": args.task, "role": args.role, "learning_rate": rate, "steps": args.steps or "epoch",
                      "dropout": not args.no_dropout, "runs": runs, "constant": sum(r["constant"] for r in runs),
                      "seeds": len(runs)}))


if __name__ == "__main__":
    main()
