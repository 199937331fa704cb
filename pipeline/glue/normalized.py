"""The normalised split files every source is turned into.

One JSON Lines file per split, one example per line:
`{"idx": int, "text_a": str, "text_b": str | null, "label": int | float}`.
`label` is the index into the task's `labels` (hub order), the score for STS-B, and -1 for
test examples. `idx` is the file's index column where it has one (test files), otherwise the
example's position, as on the hub.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypedDict

from pipeline.atomic import atomic_path
from pipeline.errors import InputError


class Example(TypedDict):
    idx: int
    text_a: str
    text_b: str | None
    label: int | float


TEST_LABEL = -1


def split_path(task_dir: str | Path, split: str) -> Path:
    return Path(task_dir) / f"{split}.jsonl"


def write_split(path: str | Path, examples: Iterable[Example]) -> int:
    """Write the examples atomically; returns how many were written."""
    count = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        for example in examples:
            out.write(json.dumps(example, ensure_ascii=False) + "\n")
            count += 1
    return count


def read_split(path: str | Path) -> Iterator[Example]:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: split file not found; run the download stage first")
    with open(path, encoding="utf-8") as lines:
        for lineno, line in enumerate(lines, 1):
            try:
                yield json.loads(line)
            except json.JSONDecodeError as error:
                raise InputError(f"{path}:{lineno}: not a JSON example ({error.msg})") from None
