"""A method is one module of pipeline/methods/ plus its conf/ section: every place derived from
the registry, or written beside it, knows every registered method. Each test names what a new
method's author forgot (docs/design.md, "Adding a method")."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest
import yaml
from conftest import REPO

from pipeline.methods.base import Method
from pipeline.methods.registry import METHODS, STEPS
from pipeline.reporting.paper_table import ROWS
from pipeline.settings.params import Params

NAMES = list(METHODS)
BASE = yaml.safe_load((REPO / "conf/base.yaml").read_text())
COMPOSED = yaml.safe_load((REPO / "params.yaml").read_text())


def test_the_registry_finds_the_methods():
    """Twelve modules; a registry that found none would pass every test below."""
    assert len(NAMES) == 12 and "lgtm" in NAMES and "kd" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_its_step_class_defines_its_step(name):
    step = STEPS[name]
    assert step.info is METHODS[name] and step.step is not Method.step, f"{name}: no `step` in its Method subclass"


@pytest.mark.parametrize(("source", "params"), [("conf/base.yaml", BASE), ("params.yaml", COMPOSED)])
@pytest.mark.parametrize("name", NAMES)
def test_its_section_and_its_group(name, source, params):
    """Its own section, and its name in its group of `methods` (params.yaml: recomposed)."""
    assert name in params, f"{source}: no `{name}:` section"
    group = METHODS[name].starts_from
    assert name in params["methods"][group], f"{source}: {name} is not under methods.{group}"


@pytest.mark.parametrize("name", NAMES)
def test_params_read_its_section(name):
    assert Params.model_fields[name].annotation is METHODS[name].settings


@pytest.mark.parametrize("name", NAMES)
def test_its_row_in_the_paper_table(name):
    assert name in ROWS


@pytest.mark.parametrize("name", NAMES)
def test_the_docs_describe_it(name):
    """docs/baselines.md or docs/method.md names its module."""
    module = f"pipeline/methods/{name}.py"
    docs = [(REPO / "docs" / doc).read_text() for doc in ("baselines.md", "method.md")]
    assert any(module in text for text in docs), f"neither docs/baselines.md nor docs/method.md names {module}"


def _dict_keys(path, variable: str) -> list[str]:
    """The keys of the dict literal a module assigns to `variable`."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == variable for target in node.targets):
            return [key.value for key in node.value.keys]
    raise AssertionError(f"{path}: no {variable} = {{...}}")


def test_the_training_stages_test_trains_a_method_of_each_group():
    """tests/test_training_stages.py runs one method of each group through its stage."""
    listed = [name for name in _dict_keys(REPO / "tests/test_training_stages.py", "STAGE_OF") if name in METHODS]
    assert {METHODS[name].starts_from for name in listed} == {info.starts_from for info in METHODS.values()}


def test_the_launched_runs_train_every_method():
    """tests/launched_runs.py (one process against two) trains every registered method."""
    probe = "import json, launched_runs; print(json.dumps(launched_runs.RUNS))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                            cwd=REPO / "tests", env={"PYTHONPATH": f"{REPO}:{REPO / 'tests'}", "LGTM_NATIVE_CPU": "1",
                                                     "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-2000:]
    runs = json.loads(result.stdout.splitlines()[-1])
    assert set(NAMES) <= set(runs)
