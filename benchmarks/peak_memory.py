"""One method's peak memory, alone in this process (run by benchmarks/step_time.py).

    python -m benchmarks.peak_memory lgtm '{"hidden": 384, ...}' --threads 2 --steps 5
"""

from __future__ import annotations

import argparse
import json

import torch

from benchmarks.step_time import Shape, peak_memory_mb

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("method")
    parser.add_argument("shape", help="The Shape's fields as JSON.")
    parser.add_argument("--precision", default="no")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(peak_memory_mb(args.method, Shape(**json.loads(args.shape)), precision=args.precision, device=args.device,
                         steps=args.steps))
