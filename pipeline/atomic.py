"""Atomic outputs: a stage killed at any moment leaves its previous output or none.

Everything is written under a temporary sibling name and renamed into place only once it
is complete; `os.replace` within one directory is atomic on POSIX file systems.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_TMP_MARK = ".tmp-"


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def remove_stale_temporaries(path: Path) -> None:
    """Delete what an earlier, killed writer of `path` left behind."""
    for stale in path.parent.glob(f".{path.name}{_TMP_MARK}*"):
        _remove(stale)


def previous_version(path: Path) -> Path:
    """Where `replace` keeps the directory it is replacing until the new one is in place."""
    return path.parent / f".{path.name}{_TMP_MARK}old"


def replace(source: Path, path: Path) -> None:
    """Rename `source` to `path`. A directory already at `path` is replaced whole, never merged:
    that takes two renames, so it is moved aside to `previous_version(path)` first, and a kill
    in between leaves it there."""
    if source.is_dir() and path.exists():
        old = previous_version(path)
        if old.exists():
            _remove(old)
        os.replace(path, old)
        os.replace(source, path)
        _remove(old)
    else:
        os.replace(source, path)


@contextmanager
def _temporary_sibling(path: Path) -> Iterator[Path]:
    """A name beside `path` (on its file system, so that a rename moves it into place), with
    nothing there yet; whatever is left there on exit is deleted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp = path.parent / f".{path.name}{_TMP_MARK}{os.getpid()}"
    try:
        yield tmp
    finally:
        if tmp.exists():
            _remove(tmp)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of `path` to write a file or directory into.

    On normal exit it replaces `path`; on an exception it is deleted and `path` is left as
    it was. A directory that already exists is replaced whole, never merged.
    """
    path = Path(path)
    with _temporary_sibling(path) as tmp:
        yield tmp
        replace(tmp, path)


@contextmanager
def staging_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a new, empty directory beside `path` to build its next version in, deleted on exit
    with whatever is still in it. Nothing is moved: the caller `replace`s `path`, or parts of
    it, with what it built, once all of it is built."""
    with _temporary_sibling(Path(path)) as tmp:
        tmp.mkdir()
        yield tmp


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")
