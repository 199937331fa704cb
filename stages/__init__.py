"""One command per DVC stage, each in the module named like its stage in dvc.yaml.

    python -m stages.distill --task rte --method lgtm     # what dvc.yaml runs
    python -m stages --help                               # every stage and tool

Each command reads params.yaml (validated whole before any work), calls `pipeline`, and
writes its outputs atomically. Commands that are not stages (bench, predict, scale) are in
stages/tools/.
"""

import os

# Set here, before any stage module imports a Hugging Face library (they read these on import):
# our logs say what each stage does; the libraries' per-shard and per-map bars only add noise
# to DVC's output.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
