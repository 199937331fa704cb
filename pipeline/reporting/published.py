"""Published numbers, shown beside the comparison table: the paper's on GLUE, and others' on
the other data a table may show (reference/published.yaml), each row with its source, checked
on reading. A number nobody published is not in the file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from pipeline.errors import InputError
from pipeline.glue.tasks import TASKS
from pipeline.reporting.paper_table import AVG, column_order
from pipeline.reporting.results_table import columns, every_column

# dev; test (the GLUE server, or a data set's own test split); cv: cross-validation over the
# whole data (no dev or test split); unknown: the source does not say.
PUBLISHED_SPLITS = ("dev", "test", "cv", "unknown")
SPLIT_NAMES = {"cv": "cross-validation", "unknown": "unknown"}  # said after the row's label


def glue_labels() -> set[str]:
    """The columns of GLUE's data, and Avg."""
    return {label for label, *_ in columns(list(TASKS))} | {AVG}


@dataclass(frozen=True)
class PublishedRow:
    label: str
    split: str  # dev, test, or unknown
    source: str  # URL (with commit) or paper section
    values: dict[str, float]  # column label -> score x100
    note: str | None = None  # where the source is ambiguous, or what the numbers are not


def load_published(path: Path) -> list[PublishedRow]:
    """The published rows of `path` (reference/published.yaml), checked."""
    if not path.is_file():
        raise InputError(f"{path}: not found; expected the published numbers (reference/published.yaml)")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    known = set(column_order([label for label, *_ in every_column()]))
    rows = []
    for index, entry in enumerate((data or {}).get("rows") or []):
        where = f"{path}: rows[{index}]"
        if not isinstance(entry, dict) or not all(isinstance(entry.get(key), str) for key in ("label", "source")):
            raise InputError(f"{where}: needs a label and a source, both text")
        if entry.get("split") not in PUBLISHED_SPLITS:
            raise InputError(f"{where}.split: {entry.get('split')!r}; expected one of {', '.join(PUBLISHED_SPLITS)}")
        values = entry.get("values") or {}
        for label, value in values.items():
            if label not in known or not isinstance(value, (int, float)):
                raise InputError(f"{where}.values: {label}: {value!r}; expected a number under one of the "
                                 f"columns {', '.join(sorted(known))}")
        rows.append(PublishedRow(entry["label"], entry["split"], entry["source"],
                                 {label: float(value) for label, value in values.items()}, entry.get("note")))
    return rows
