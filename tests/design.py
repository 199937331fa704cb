"""The project's import graph, read statically from the source: what tests/test_design.py
checks dvc.yaml's code deps and the layering rules of docs/design.md against.

Every `import` statement counts, at module level or inside a function, except those under
`if TYPE_CHECKING:` (type hints only; they never run).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "stages", "benchmarks", "reference")


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


def _import_nodes(tree: ast.AST):
    for node in ast.iter_child_nodes(tree):
        if _is_type_checking(node):
            yield from (n for orelse in node.orelse for n in _import_nodes_of(orelse))
            continue
        yield from _import_nodes_of(node)


def _import_nodes_of(node: ast.AST):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    yield from _import_nodes(node)


@cache
def imports(path: Path) -> frozenset[str]:
    """Every module name an import statement of `path` names (external ones included); a
    `from package import name` names `package.name` too, which is a module when it is one."""
    names = set()
    for node in _import_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return frozenset(names)


def project_imports(path: Path) -> set[str]:
    """The project modules `path` imports, each with the packages above it (whose
    __init__.py runs first)."""
    found = set()
    for name in imports(path):
        if module_file(name) is None:
            continue
        parts = name.split(".")
        found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return found


def closure(module: str) -> set[Path]:
    """The source files of `module` and of every project module it imports, directly or not."""
    parts = module.split(".")
    todo = [".".join(parts[:i]) for i in range(1, len(parts) + 1)]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or module_file(name) is None:
            continue
        seen.add(name)
        todo.extend(project_imports(module_file(name)))
    return {module_file(name) for name in seen}


def command_module(cmd: str) -> str:
    """The module a dvc.yaml command runs (`python -m stages.distill ...`)."""
    match = re.search(r"python -m ([\w.]+)", cmd)
    assert match, f"not a `python -m MODULE` command: {cmd}"
    return match.group(1)


def covered(path: Path, deps: list[str]) -> bool:
    relative = path.relative_to(REPO)
    return any(relative == Path(dep) or Path(dep) in relative.parents for dep in deps)


def project_modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py"))
