"""The design rules of docs/design.md, read from the source: dvc.yaml's code deps cover every
project module each stage's command imports, each stage has the module named like it, and
the library's packages import only the layers below them."""

from __future__ import annotations

import pytest
import yaml
from design import REPO, closure, command_module, covered, imports, module_name, project_imports, project_modules

# Each stage's definition; a `foreach` stage's is under `do`.
STAGES = {name: stage.get("do", stage) for name, stage in yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"].items()}


def code_deps(stage: dict) -> list[str]:
    return [dep for dep in stage["deps"] if dep.split("/")[0] in ("pipeline", "stages", "benchmarks", "reference")]


@pytest.mark.parametrize("name", STAGES)
def test_every_module_a_stage_imports_is_a_dep(name):
    stage = STAGES[name]
    module = command_module(stage["cmd"])
    missing = [str(path.relative_to(REPO)) for path in sorted(closure(module)) if not covered(path, code_deps(stage))]
    assert not missing, f"stage {name} ({module}) imports modules that are not deps: {', '.join(missing)}"


@pytest.mark.parametrize("name", STAGES)
def test_every_code_dep_of_a_stage_is_imported(name):
    """No dep that the command never imports: it would rerun the stage for nothing."""
    stage = STAGES[name]
    files = closure(command_module(stage["cmd"]))
    unused = [dep for dep in code_deps(stage) if not any(covered(path, [dep]) for path in files)]
    assert not unused, f"stage {name}: deps its command never imports: {', '.join(unused)}"


@pytest.mark.parametrize("name", STAGES)
def test_a_stage_runs_the_module_named_like_it(name):
    module = command_module(STAGES[name]["cmd"])
    assert module == f"stages.{name.replace('-', '_')}", f"stage {name} runs {module}"


SHARED = {"__init__", "__main__", "command", "environment", "paths", "training"}


def test_every_stage_module_is_a_stage():
    """stages/ holds the stages of dvc.yaml, what they share, and tools/."""
    modules = {path.stem for path in (REPO / "stages").glob("*.py")}
    assert modules - SHARED == {name.replace("-", "_") for name in STAGES}


# What each part of the project may import (docs/design.md): a layer sees the layers below.
LOWER = {
    "pipeline.errors": set(),
    "pipeline.atomic": set(),
    "pipeline.parallel": set(),
    "pipeline.compare": set(),
    "pipeline.launch": {"pipeline.atomic"},
    "pipeline.hub": {"pipeline.errors"},
    "pipeline.glue": {"pipeline.errors", "pipeline.atomic", "pipeline.hub"},
    "pipeline.settings": {"pipeline.errors", "pipeline.glue"},
    "pipeline.preflight": {"pipeline.errors", "pipeline.hub", "pipeline.glue", "pipeline.settings",
                           "pipeline.models"},  # models.packaged alone: torch-free (TORCH_FREE)
    "pipeline.optim": {"pipeline.settings"},
    "pipeline.models": {"pipeline.errors", "pipeline.hub", "pipeline.parallel", "pipeline.glue", "pipeline.settings",
                        "pipeline.optim"},
    "pipeline.distill": {"pipeline.errors", "pipeline.settings", "pipeline.optim"},
    "pipeline.reporting": {"pipeline.errors", "pipeline.atomic", "pipeline.glue", "pipeline.settings"},
    "pipeline.training": {"pipeline.errors", "pipeline.atomic", "pipeline.hub", "pipeline.parallel", "pipeline.launch",
                          "pipeline.glue",
                          "pipeline.settings", "pipeline.optim", "pipeline.models", "pipeline.distill",
                          "pipeline.reporting"},
    "reference": {"pipeline.distill"},
    "benchmarks": {"pipeline", "reference"},
    "stages": {"pipeline", "benchmarks"},
}
TORCH_FREE = ("pipeline.errors", "pipeline.atomic", "pipeline.parallel", "pipeline.compare", "pipeline.hub", "pipeline.glue",
              "pipeline.settings", "pipeline.preflight", "pipeline.reporting")
HEAVY = ("torch", "transformers", "accelerate", "dvclive")


def part_of(module: str) -> str:
    return max((part for part in LOWER if module == part or module.startswith(part + ".")), key=len)


def allowed(importer: str, imported: str) -> bool:
    own = part_of(importer)
    if imported == "pipeline" or imported == own.split(".")[0] or part_of(imported) == own:
        return True
    if own == "stages":  # a stage imports the library and the shared modules, never another stage
        return imported.startswith(("pipeline", "benchmarks")) or imported.removeprefix("stages.") in SHARED | {"tools"}
    return any(imported == lower or imported.startswith(lower + ".") for lower in LOWER[own])


@pytest.mark.parametrize("path", project_modules(), ids=lambda path: str(path.relative_to(REPO)))
def test_each_module_imports_only_the_layers_below_it(path):
    module = module_name(path)
    if module in ("stages", "stages.__main__"):  # the command line that gathers every stage and tool
        return
    wrong = sorted(name for name in project_imports(path) if not allowed(module, name))
    assert not wrong, f"{module} imports {', '.join(wrong)}, against the layering of docs/design.md"


@pytest.mark.parametrize("path", [p for p in project_modules() if module_name(p).startswith(TORCH_FREE)],
                         ids=lambda path: str(path.relative_to(REPO)))
def test_the_lower_layers_and_reporting_never_import_torch(path):
    heavy = sorted(name for name in imports(path) if name.split(".")[0] in HEAVY)
    assert not heavy, f"{module_name(path)} imports {', '.join(heavy)}: it must stay torch-free"


@pytest.mark.parametrize("name", ["params", "download", "evaluate", "table"])
def test_reporting_stages_load_no_model(name):
    """They start in a second (the params check runs at every change of params.yaml), and the
    reporting stages rerun in seconds when only metrics or file formats change."""
    heavy = sorted({imported for path in closure(command_module(STAGES[name]["cmd"])) for imported in imports(path)
                    if imported.split(".")[0] in HEAVY})
    assert not heavy, f"stage {name} imports {', '.join(heavy)}"


def test_the_teacher_alone_declares_every_train_key_it_reads():
    """All but the student's learning rate: the teacher alone trains at the teacher's."""
    from pipeline.settings.params import TrainParams

    stage = STAGES["finetune-teacher"]
    declared = {param.removeprefix("train.") for param in stage["params"] if str(param).startswith("train.")}
    assert declared == set(TrainParams.model_fields) - {"learning_rate"}
    assert {"train", "held_out"} <= set(STAGES["train"]["params"]) and {"train", "held_out"} <= set(STAGES["distill"]["params"])
