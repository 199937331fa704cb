"""A scratch git+DVC copy of the project, for the tests that drive DVC as a user does: the
tracked files, the demo preset narrowed by the test, params.yaml composed from it, and all of it
committed. Commands run with the venv's first on PATH and this checkout importable."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import yaml
from conftest import REPO

from pipeline.settings.params import compose

BIN = Path(sys.executable).parent


def environment(**changes: str | None) -> dict[str, str]:
    """This process's environment for a command, with `changes` (None removes a variable)."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(REPO)}
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env or environment(), timeout=600)


def sh(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """The command's output; it must succeed."""
    result = run(*args, cwd=cwd, env=env)
    assert result.returncode == 0, f"{' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def git(*args: str, cwd: Path) -> str:
    return sh("git", "-c", "user.email=t@t", "-c", "user.name=t", *args, cwd=cwd)


def edit_params(repo: Path, edit: Callable[[dict], None]) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    edit(params)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def changed_stages(repo: Path) -> set[str]:
    return set(json.loads(sh("dvc", "status", "--json", cwd=repo)))


def every_byte(root: Path, *folders: str) -> dict[str, bytes]:
    """Every file under `folders` of `root` (all of it by default; hidden files included), by
    its path under `root`."""
    return {str(path.relative_to(root)): path.read_bytes()
            for folder in folders or (".",) for path in sorted((root / folder).rglob("*")) if path.is_file()}


def scratch_project(root: Path, narrow: Callable[[dict], None]) -> Path:
    """The project's tracked files (no dvc.lock) in `root`, the demo preset changed by
    `narrow`, params.yaml its composition (as `dvc exp run` writes it), committed."""
    tracked = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                             text=True).stdout.split()
    for name in tracked:
        if name != "dvc.lock" and (REPO / name).is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, root / name)
    preset = yaml.safe_load((root / "conf/preset/demo.yaml").read_text())
    narrow(preset)
    (root / "conf/preset/demo.yaml").write_text("# @package _global_\n" + yaml.safe_dump(preset, sort_keys=False))
    (root / "params.yaml").write_text(yaml.safe_dump(compose(conf_dir=root / "conf"), sort_keys=False))
    sh("git", "init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "init", cwd=root)
    return root
