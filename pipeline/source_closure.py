"""The project's own source files a command runs, read statically from its imports: what each
stage's code deps in dvc.yaml list (`python -m stages deps`) and what a run's fingerprint
hashes (pipeline/training/checkpoints.py), so that both say the same thing about which edit
changes what.

Every `import` statement counts, at module level or inside a function, except those under
`if TYPE_CHECKING:` (type hints only; they never run) and one kind of in-function import: a
method's step imports its tensor math inside the step (pipeline/methods/base.py), and only a
process that runs the training loop ever calls a step. So a stage that never trains does not
depend on pipeline/distill/ or pipeline/optim.py through the methods it lists.

Standard library only: the params check and the reporting stages import it at start.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "stages", "benchmarks", "reference")
STEP_MODULES = "pipeline.methods."  # their functions' imports run only inside a training loop
REGISTRY = "pipeline.methods.registry"  # imports every module of its package, found at run time
LOOP = "pipeline.training.loop"  # the one caller of a method's step


def module_file(name: str) -> Path | None:
    """The source file of a project module (a package's __init__.py), or None."""
    if name.split(".")[0] not in PACKAGES:
        return None
    path = REPO.joinpath(*name.split("."))
    if path.with_suffix(".py").is_file():
        return path.with_suffix(".py")
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def _import_nodes(tree: ast.AST, in_functions: bool):
    for node in ast.iter_child_nodes(tree):
        if _is_type_checking(node):
            yield from (n for orelse in node.orelse for n in _import_nodes_of(orelse, in_functions))
            continue
        if not in_functions and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        yield from _import_nodes_of(node, in_functions)


def _import_nodes_of(node: ast.AST, in_functions: bool):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    yield from _import_nodes(node, in_functions)


@cache
def imports(path: Path, in_functions: bool = True) -> frozenset[str]:
    """Every module name an import statement of `path` names (external ones included); a
    `from package import name` names `package.name` too, which is a module when it is one.
    `in_functions=False`: only the imports that run when the module is imported."""
    names = set()
    for node in _import_nodes(ast.parse(path.read_text(), str(path)), in_functions):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return frozenset(names)


def project_imports(path: Path, in_functions: bool = True) -> set[str]:
    """The project modules `path` imports, each with the packages above it (whose
    __init__.py runs first)."""
    found = set()
    for name in imports(path, in_functions):
        if module_file(name) is None:
            continue
        parts = name.split(".")
        found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return found


def _closure(module: str, steps_run: bool) -> set[str]:
    parts = module.split(".")
    todo = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or module_file(name) is None:
            continue
        seen.add(name)
        todo.extend(project_imports(module_file(name), steps_run or not name.startswith(STEP_MODULES)))
        if name == REGISTRY:
            todo.extend(module_name(path) for path in module_file(name).parent.glob("*.py"))
    return seen


def closure(module: str, steps_run: bool | None = None) -> set[Path]:
    """The source files of `module` and of every project module it imports, directly or not.
    `steps_run`: whether to follow what the methods' steps import inside their functions;
    None: where the module reaches the training loop, the one caller of a step."""
    if steps_run is None:
        steps_run = LOOP in _closure(module, steps_run=False)
    return {module_file(name) for name in _closure(module, steps_run)}


def command_module(cmd: str) -> str:
    """The module a dvc.yaml command runs (`python -m stages.evaluate`, `python -m stages.training distill ...`)."""
    match = re.search(r"python -m ([\w.]+)", cmd)
    if not match:
        raise ValueError(f"not a `python -m MODULE` command: {cmd}")
    return match.group(1)


def is_code(dep: str) -> bool:
    """A dvc.yaml dep that is project source (the others are data, models and runs)."""
    return dep.split("/")[0] in PACKAGES


def stage_commands(dvc_yaml: Path | None = None) -> dict[str, str]:
    """Each stage's command (dvc.yaml's by default); a `foreach` stage's is under `do`."""
    import yaml

    stages = yaml.safe_load((dvc_yaml or REPO / "dvc.yaml").read_text())["stages"]
    return {name: stage.get("do", stage)["cmd"] for name, stage in stages.items()}


def training_code(dvc_yaml: Path | None = None) -> list[Path]:
    """The source files of the stages that train (their modules reach the training loop), all
    together: the code a run's result depends on."""
    modules = {command_module(cmd) for cmd in stage_commands(dvc_yaml).values()}
    trains = [module for module in sorted(modules) if LOOP in _closure(module, steps_run=False)]
    return sorted(set().union(*(closure(module, steps_run=True) for module in trains)))


def code_deps(module: str) -> list[str]:
    """The code deps of a stage running `module`, as dvc.yaml lists them: a package's directory
    where the closure holds every source file under it, each file otherwise."""
    files = {path.relative_to(REPO) for path in closure(module)}
    deps: list[str] = []
    for root in sorted({Path(file.parts[0]) for file in files}):
        deps.extend(_deps_under(root, files))
    return deps


def _deps_under(directory: Path, files: set[Path]) -> list[str]:
    """`directory` itself if `files` hold every source file under it, else what is under it."""
    sources = sorted(path.relative_to(REPO) for path in (REPO / directory).rglob("*.py")
                     if "__pycache__" not in path.parts)
    if sources and all(source in files for source in sources) and not _has_other_files(directory):
        return [str(directory)]
    deps: list[str] = []
    for child in sorted((REPO / directory).iterdir()):
        relative = child.relative_to(REPO)
        if child.is_dir() and child.name != "__pycache__" and any(relative in file.parents for file in files):
            deps.extend(_deps_under(relative, files))
        elif relative in files:
            deps.append(str(relative))
    return deps


def _has_other_files(directory: Path) -> bool:
    """Whether a directory holds files DVC would hash besides its sources (they would make a
    directory dep change with no source change)."""
    return any(path.is_file() and path.suffix != ".py" and "__pycache__" not in path.parts
               for path in (REPO / directory).rglob("*"))


def covered(path: Path, deps: list[str]) -> bool:
    relative = path.relative_to(REPO)
    return any(relative == Path(dep) or Path(dep) in relative.parents for dep in deps)


def project_modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py"))
