"""The design rules of docs/design.md, read from the source: dvc.yaml's code deps are exactly
the import closure of each stage's command (`python -m stages deps --write` writes them), a
run's fingerprint hashes exactly the training stages' deps and no report, each stage has the
module named like it, and the library's packages import only the layers below them."""

from __future__ import annotations

import shutil

import pytest
import yaml

from pipeline.source_closure import (
    LOOP,
    REPO,
    STEP_MODULES,
    closure,
    code_deps,
    command_module,
    covered,
    imports,
    is_code,
    module_name,
    project_imports,
    project_modules,
    training_code,
)

# Each stage's definition; a `foreach` stage's is under `do`.
STAGES = {name: stage.get("do", stage) for name, stage in yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"].items()}


def listed_code_deps(stage: dict) -> list[str]:
    return [dep for dep in stage["deps"] if is_code(dep)]


@pytest.mark.parametrize("name", STAGES)
def test_the_code_deps_of_a_stage_are_its_import_closure(name):
    """Every project module the command imports is a dep, and no dep is one it never imports
    (it would rerun the stage for nothing): the list `python -m stages deps` generates."""
    stage = STAGES[name]
    generated = code_deps(command_module(stage["cmd"]))
    assert listed_code_deps(stage) == generated, f"stage {name}: run `python -m stages deps --write`"


@pytest.mark.parametrize("name", STAGES)
def test_a_stage_that_never_trains_never_depends_on_the_steps_math(name):
    """The methods' steps import their tensor math inside the step, which only the training
    loop calls: an edit to pipeline/distill/ reruns no download, evaluation or report. (The
    pre-trained models' stage depends on pipeline/optim.py through pipeline/models/, as it should.)"""
    files = closure(command_module(STAGES[name]["cmd"]))
    if any(module_name(path) == LOOP for path in files):
        return
    math = sorted(str(path.relative_to(REPO)) for path in files
                  if module_name(path).startswith("pipeline.distill"))
    assert not math, f"stage {name} depends on {', '.join(math)}"


TRAINING = [name for name, stage in STAGES.items()
            if any(module_name(path) == LOOP for path in closure(command_module(stage["cmd"])))]


def test_the_fingerprint_hashes_exactly_the_training_stages_deps():
    deps = {dep for name in TRAINING for dep in listed_code_deps(STAGES[name])}
    covered_files = {path for path in project_modules() if covered(path, sorted(deps))}
    assert TRAINING and set(training_code()) == covered_files


@pytest.mark.parametrize("name", TRAINING)
def test_no_report_is_code_a_training_stage_runs(name):
    """An edit to pipeline/reporting/ (a table, a plot, a report) retrains nothing."""
    reports = sorted(str(path.relative_to(REPO)) for path in closure(command_module(STAGES[name]["cmd"]))
                     if module_name(path).startswith("pipeline.reporting"))
    assert not reports, f"training stage {name} runs {', '.join(reports)}"


def test_a_runs_fingerprint_moves_with_training_code_and_not_with_a_report(tmp_path, monkeypatch):
    """On a copy of the project's code: a line added to a reporting module leaves the
    fingerprint as it was; one added to the training loop changes it."""
    import pipeline.source_closure as source_closure
    from pipeline.training import checkpoints

    for part in ("pipeline", "stages", "dvc.yaml"):
        copy = shutil.copytree if (REPO / part).is_dir() else shutil.copy
        copy(REPO / part, tmp_path / part)
    monkeypatch.setattr(source_closure, "REPO", tmp_path)
    monkeypatch.setattr(checkpoints, "REPO", tmp_path)

    def fingerprint_after(edited: str) -> str:
        with open(tmp_path / edited, "a") as source:
            source.write("# an edit\n")
        return checkpoints.fingerprint({"run": "kd"}, [])

    before = checkpoints.fingerprint({"run": "kd"}, [])
    assert fingerprint_after("pipeline/reporting/paper_table.py") == before
    assert fingerprint_after("pipeline/training/loop.py") != before


TRAINING_MODULE = "stages.training"  # every training stage, each its subcommand


@pytest.mark.parametrize("name", STAGES)
def test_a_stage_runs_the_module_named_like_it(name):
    """Or, a training stage, the training module with the stage's name as its subcommand."""
    cmd = STAGES[name]["cmd"]
    module = command_module(cmd)
    if module == TRAINING_MODULE:
        assert cmd.split()[3] == name, f"stage {name} runs {cmd}"
    else:
        assert module == f"stages.{name.replace('-', '_')}", f"stage {name} runs {module}"


SHARED = {"__init__", "__main__", "command", "environment", "paths", "training"}


def test_every_stage_module_is_a_stage():
    """stages/ holds the stages of dvc.yaml, what they share, and tools/."""
    modules = {path.stem for path in (REPO / "stages").glob("*.py")}
    own_module = {name for name, stage in STAGES.items() if command_module(stage["cmd"]) != TRAINING_MODULE}
    assert modules - SHARED == {name.replace("-", "_") for name in own_module}


# What each part of the project may import (docs/design.md): a layer sees the layers below.
LOWER = {
    "pipeline.errors": set(),
    "pipeline.atomic": set(),
    "pipeline.parallel": set(),
    "pipeline.compare": set(),
    "pipeline.launch": {"pipeline.atomic"},
    "pipeline.hub": {"pipeline.errors"},
    "pipeline.glue": {"pipeline.errors", "pipeline.atomic", "pipeline.hub"},
    "pipeline.source_closure": set(),  # standard library only: read at every stage's start
    "pipeline.settings.section": set(),
    "pipeline.settings": {"pipeline.errors", "pipeline.glue", "pipeline.settings.section", "pipeline.methods"},
    "pipeline.preflight": {"pipeline.errors", "pipeline.hub", "pipeline.glue", "pipeline.settings",
                           "pipeline.models"},  # models.packaged alone: torch-free (TORCH_FREE)
    "pipeline.optim": {"pipeline.settings"},
    "pipeline.models": {"pipeline.errors", "pipeline.hub", "pipeline.parallel", "pipeline.glue", "pipeline.settings",
                        "pipeline.optim"},
    "pipeline.distill": {"pipeline.errors", "pipeline.settings.section", "pipeline.optim"},
    "pipeline.methods": {"pipeline.errors", "pipeline.settings.section", "pipeline.optim", "pipeline.distill"},
    "pipeline.results": {"pipeline.errors", "pipeline.glue"},
    "pipeline.reporting": {"pipeline.errors", "pipeline.atomic", "pipeline.glue", "pipeline.settings", "pipeline.methods",
                           "pipeline.results"},
    "pipeline.training": {"pipeline.errors", "pipeline.atomic", "pipeline.hub", "pipeline.parallel", "pipeline.launch",
                          "pipeline.glue",
                          "pipeline.settings", "pipeline.optim", "pipeline.models", "pipeline.distill", "pipeline.methods",
                          "pipeline.results", "pipeline.source_closure",
                          "pipeline.reporting"},  # server_predictions alone, for the predict tool
    "reference": {"pipeline.distill"},
    "benchmarks": {"pipeline", "reference"},
    "stages": {"pipeline", "benchmarks"},
}
TORCH_FREE = ("pipeline.errors", "pipeline.atomic", "pipeline.parallel", "pipeline.compare", "pipeline.hub", "pipeline.glue",
              "pipeline.settings", "pipeline.preflight", "pipeline.reporting", "pipeline.results", "pipeline.source_closure")
HEAVY = ("torch", "transformers", "accelerate", "dvclive")
# Torch-free when imported: their steps import torch inside the functions a training run calls.
TORCH_FREE_AT_IMPORT = ("pipeline.methods",)


def part_of(module: str) -> str:
    return max((part for part in LOWER if module == part or module.startswith(part + ".")), key=len)


def allowed(importer: str, imported: str) -> bool:
    own = part_of(importer)
    if imported == "pipeline" or imported == own.split(".")[0] or part_of(imported) == own:
        return True
    if own == "stages":  # a stage imports the library and the shared modules, never another stage
        return imported.startswith(("pipeline", "benchmarks")) or imported.removeprefix("stages.") in SHARED | {"tools"}
    # A package above an allowed module counts as imported too (its __init__.py runs first).
    return any(imported == lower or imported.startswith(lower + ".") or lower.startswith(imported + ".")
               for lower in LOWER[own])


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


@pytest.mark.parametrize("path", [p for p in project_modules() if module_name(p).startswith(TORCH_FREE_AT_IMPORT)],
                         ids=lambda path: str(path.relative_to(REPO)))
def test_the_methods_import_torch_only_inside_their_steps(path):
    heavy = sorted(name for name in imports(path, in_functions=False) if name.split(".")[0] in HEAVY)
    assert not heavy, f"{module_name(path)} imports {', '.join(heavy)} at module level: it must stay torch-free"


@pytest.mark.parametrize("name", ["params", "download", "evaluate", "table"])
def test_reporting_stages_load_no_model(name):
    """They start in a second (the params check runs at every change of params.yaml), and the
    reporting stages rerun in seconds when only metrics or file formats change."""
    files = closure(command_module(STAGES[name]["cmd"]), steps_run=False)
    heavy = sorted({imported for path in files for imported in imports(path, not module_name(path).startswith(STEP_MODULES))
                    if imported.split(".")[0] in HEAVY})
    assert not heavy, f"stage {name} imports {', '.join(heavy)}"


def test_the_teacher_alone_declares_every_train_key_it_reads():
    """All but the student's learning rate: the teacher alone trains at the teacher's."""
    from pipeline.settings.params import TrainParams

    stage = STAGES["finetune-teacher"]
    declared = {param.removeprefix("train.") for param in stage["params"] if str(param).startswith("train.")}
    assert declared == set(TrainParams.model_fields) - {"learning_rate"}
    assert {"train", "held_out"} <= set(STAGES["train"]["params"]) and {"train", "held_out"} <= set(STAGES["distill"]["params"])
