"""One command per DVC stage, each in the module named like its stage in dvc.yaml.

    python -m stages.distill --method kd                  # what dvc.yaml runs
    python -m stages --help                               # every stage and tool
    python -m stages.predict --help                       # a tool, as `python -m stages predict`

Each command reads params.yaml (validated whole before any work), calls `pipeline`, and
writes its outputs atomically. Commands that are not stages (predict, clean, bench, scale) are
in stages/tools/; stages/training.py is what the training stages share.
"""

import os
from pathlib import Path

from stages.environment import claim_device, die_with_launcher, pin_cpu_kernels

# A tool runs like a stage, `python -m stages.predict`, as well as `python -m stages.tools.predict`:
# stages/tools/ is searched for the package's modules after stages/ (no tool is named like a
# stage or a shared module; tests/test_predict_tool.py checks it).
__path__.append(str(Path(__file__).parent / "tools"))

die_with_launcher()  # at once: a launched process outlives no killed stage (stages/environment.py)
# Set here, before any stage module imports torch or a Hugging Face library (they read these
# when they load): the same CPU kernels on every machine, the GPU of a queued comparison
# experiment (stages/environment.py); and no per-shard or per-map progress bars, which only
# add noise to DVC's output.
pin_cpu_kernels()
claim_device()
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
