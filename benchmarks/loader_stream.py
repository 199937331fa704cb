"""Batches drawn from a task's tokenized training split by the training loader, with the
resident memory before and after (run by benchmarks/scale.py in its scratch directory).

    python -m benchmarks.loader_stream --task mnli --batches 2000
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def resident_mb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))) // 1024


def stream(task: str, batches: int) -> dict:
    import datasets

    from pipeline.models.loading import load_tokenizer
    from pipeline.training.batches import loader

    split = datasets.load_from_disk(f"data/tokenized/{task}")["train"]
    tokenizer = load_tokenizer(f"models/{task}/student")
    before = resident_mb()
    started = time.perf_counter()
    drawn = 0
    for drawn, _ in enumerate(loader(split, tokenizer, 32, shuffle=True), 1):
        if drawn == batches:
            break
    return {"rows": len(split), "batches": drawn, "s": round(time.perf_counter() - started, 2),
            "rss_before_mb": before, "rss_after_mb": resident_mb()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--task", required=True)
    parser.add_argument("--batches", type=int, default=2000)
    args = parser.parse_args()
    print(json.dumps(stream(args.task, args.batches)))
