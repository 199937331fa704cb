"""`python -m stages deps`: each stage's code deps in dvc.yaml, from the import closure of the
module its command runs (pipeline/source_closure.py), so that DVC reruns a stage exactly when
a file it runs changes, and a run's fingerprint (which hashes the same closure) agrees.

    python -m stages deps --check      # exit 1 and list the stages whose code deps are stale
    python -m stages deps --write      # rewrite them in place

Only the deps that are project source are rewritten; the others (params-checked.txt, data,
models, runs) keep their place and their comments, as does the comment of a code dep that stays.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import typer

from stages.command import run_main

STAGE = re.compile(r"^  ([\w-]+):\s*$")  # a stage's name, under `stages:`
DEPS = re.compile(r"^(\s+)deps:\s*$")


def _item(line: str, indent: str) -> str | None:
    """The dep a line of a deps list names, or None where the list has ended."""
    match = re.match(rf"^{indent}  - (\S+)", line)
    return match.group(1) if match else None


def _rewritten_deps(items: list[tuple[str, str]], generated: list[str], indent: str) -> list[str]:
    """The deps list's lines, the code ones replaced by `generated` where the first stood."""
    from pipeline.source_closure import is_code

    comments = {dep: line[line.index("#"):].rstrip("\n") for dep, line in items if "#" in line}
    code_at = next((i for i, (dep, _) in enumerate(items) if is_code(dep)), len(items))
    code_lines = [f"{indent}  - {dep}" + (f"  {comments[dep]}" if dep in comments else "") + "\n" for dep in generated]
    others = [line for dep, line in items if not is_code(dep)]
    before = [line for dep, line in items[:code_at] if not is_code(dep)]
    return before + code_lines + others[len(before):]


def rewritten(text: str, stage_deps: dict[str, list[str]]) -> str:
    """dvc.yaml's text with each stage's code deps set to `stage_deps[stage]`."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    stage = None
    i = 0
    while i < len(lines):
        line = lines[i]
        if match := STAGE.match(line):
            stage = match.group(1)
        out.append(line)
        i += 1
        deps = DEPS.match(line)
        if not deps or stage not in stage_deps:
            continue
        items = []
        while i < len(lines) and (dep := _item(lines[i], deps.group(1))) is not None:
            items.append((dep, lines[i]))
            i += 1
        out.extend(_rewritten_deps(items, stage_deps[stage], deps.group(1)))
    return "".join(out)


def generated_deps(dvc_yaml: Path) -> dict[str, list[str]]:
    """Each stage's code deps, from its command's import closure."""
    from pipeline.source_closure import code_deps, command_module, stage_commands

    return {name: code_deps(command_module(cmd)) for name, cmd in stage_commands(dvc_yaml).items()}


def stale_stages(dvc_yaml: Path) -> list[str]:
    """The stages whose code deps in `dvc_yaml` are not those their imports give."""
    import yaml

    from pipeline.source_closure import is_code

    stages = yaml.safe_load(dvc_yaml.read_text())["stages"]
    listed = {name: [dep for dep in stage.get("do", stage).get("deps", []) if is_code(dep)]
              for name, stage in stages.items()}
    return [name for name, deps in generated_deps(dvc_yaml).items() if listed[name] != deps]


def main(
    write: bool = typer.Option(False, "--write", help="Rewrite dvc.yaml's code deps."),
    check: bool = typer.Option(False, "--check", help="Exit 1 if a stage's code deps are stale."),
    dvc_yaml: Path = typer.Option(Path("dvc.yaml"), "--dvc-yaml", help="The pipeline file."),
) -> None:
    """Each stage's code deps in dvc.yaml, from the import closure of the module it runs."""
    stale = stale_stages(dvc_yaml)
    if write and stale:
        dvc_yaml.write_text(rewritten(dvc_yaml.read_text(), generated_deps(dvc_yaml)))
        print(f"rewrote the code deps of: {', '.join(stale)}")
    elif stale:
        print(f"stale code deps (python -m stages deps --write): {', '.join(stale)}", file=sys.stderr)
        if check:
            raise SystemExit(1)
    else:
        print("every stage's code deps are its import closure")


if __name__ == "__main__":
    run_main(main)
