"""One command per DVC stage: each in the module named like its stage in dvc.yaml, the training
stages in one module (stages/training.py), with the stage's name as its command.

    python -m stages.evaluate                             # what dvc.yaml runs
    python -m stages.training distill --method kd         # a training stage
    python -m stages --help                               # every stage and tool
    python -m stages.predict --help                       # a tool, as `python -m stages predict`

Each command reads params.yaml (validated whole before any work), calls `pipeline`, and
writes its outputs atomically. Importing a stage module changes nothing in the process: what
a stage process needs before torch loads (its CPU kernels, its GPU, its launcher's death) is
set first thing by stages/command.py's `run`, which every command runs through. Commands that
are not stages (predict, clean, bench, scale, deps) are in stages/tools/; stages/training.py
is what the training stages share.
"""

from pathlib import Path

# A tool runs like a stage, `python -m stages.predict`, as well as `python -m stages.tools.predict`:
# stages/tools/ is searched for the package's modules after stages/ (no tool is named like a
# stage or a shared module; tests/test_predict_tool.py checks it).
__path__.append(str(Path(__file__).parent / "tools"))
