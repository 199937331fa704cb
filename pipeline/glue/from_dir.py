"""Read a directory in the original GLUE layout (what `download_glue_data.py` produced).

Files are tab-separated with no quote processing (GLUE sentences contain stray `"`), UTF-8.
Real files have defects: QQP rows with a missing question, lines with too few fields. Such
rows are skipped and counted; a file where they are the majority is refused, since that means
the layout is not what we think it is.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import InputError, not_utf8_at
from pipeline.glue.normalized import TEST_LABEL, Example
from pipeline.glue.tasks import FileLayout, Split, Task

# How many offending line numbers a report keeps per reason.
_EXAMPLE_LINES = 5


@dataclass
class FileReport:
    """What reading one file found: rows kept, rows skipped by reason, and where."""

    path: str
    rows: int = 0
    kept: int = 0
    skipped: Counter = field(default_factory=Counter)
    empty_text_kept: int = 0  # test rows with a missing text: kept, since every test row needs a prediction
    example_lines: dict[str, list[int]] = field(default_factory=dict)

    def skip(self, reason: str, lineno: int) -> None:
        self.skipped[reason] += 1
        self.example_lines.setdefault(reason, [])
        if len(self.example_lines[reason]) < _EXAMPLE_LINES:
            self.example_lines[reason].append(lineno)

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "rows": self.rows,
            "kept": self.kept,
            "skipped": dict(self.skipped),
            "empty_text_kept": self.empty_text_kept,
            "example_lines": self.example_lines,
        }


class _Malformed(Exception):
    def __init__(self, reason: str):
        self.reason = reason


def _decoded_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) for every line, decoded strictly so that the bad line is named."""
    with open(path, "rb") as raw:
        for lineno, data in enumerate(raw, 1):
            try:
                line = data.decode("utf-8")
            except UnicodeDecodeError as error:
                _, column = not_utf8_at(data, error.start)  # `data` is the one line `lineno`
                raise InputError(f"{path}:{lineno}: column {column}: byte 0x{data[error.start]:02x} is not UTF-8; "
                                 "GLUE files are UTF-8") from None
            if lineno == 1:
                line = line.removeprefix("\ufeff")  # MRPC's files start with a byte-order mark
            yield lineno, line.rstrip("\r\n")


def _column_positions(layout: FileLayout, header: list[str] | None, path: Path) -> dict[str, int]:
    wanted = {
        role: column
        for role, column in (
            ("text_a", layout.text_a),
            ("text_b", layout.text_b),
            ("label", layout.label),
            ("index", layout.index),
        )
        if column is not None
    }
    if header is None:
        return wanted  # positional layout
    positions = {}
    for role, column in wanted.items():
        if column not in header:
            raise InputError(f"{path}:1: missing column {column!r}; the header has {header}")
        positions[role] = header.index(column)
    return positions


def _parse_label(task: Task, value: str) -> int | float:
    if task.is_regression:
        try:
            score = float(value)
        except ValueError:
            raise _Malformed("unknown_label") from None
        if not 0.0 <= score <= 5.0:
            raise _Malformed("unknown_label")
        return score
    try:
        return task.file_labels.index(value.strip())
    except ValueError:
        raise _Malformed("unknown_label") from None


def _parse_row(
    task: Task, split: Split, fields: list[str], positions: dict[str, int], position: int
) -> Example:
    if len(fields) <= max(positions.values()):
        raise _Malformed("too_few_fields")
    texts = [fields[positions[role]].strip() if role in positions else None for role in ("text_a", "text_b")]
    missing_text = not texts[0] or (task.has_pair and not texts[1])
    if missing_text and not split.is_test:
        raise _Malformed("missing_text")
    if split.is_test:
        try:
            idx = int(fields[positions["index"]])
        except ValueError:
            raise _Malformed("bad_index") from None
        label: int | float = TEST_LABEL
    else:
        idx = position
        label = _parse_label(task, fields[positions["label"]])
    return Example(idx=idx, text_a=texts[0] or "", text_b=(texts[1] or "") if task.has_pair else None, label=label)


def read_glue_file(
    path: str | Path, task: Task, split: Split, *, max_malformed_fraction: float
) -> tuple[list[Example], FileReport]:
    """All good examples of one GLUE file, in file order, and the report of what was skipped."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found; expected the {task.glue_dir} {split.name} file of a GLUE directory")
    layout = split.layout
    report = FileReport(path=str(path))
    examples: list[Example] = []
    positions: dict[str, int] | None = None if layout.header else _column_positions(layout, None, path)
    first_bad: tuple[int, str] | None = None
    for lineno, line in _decoded_lines(path):
        if positions is None:  # header line
            positions = _column_positions(layout, line.split("\t"), path)
            continue
        report.rows += 1
        try:
            example = _parse_row(task, split, line.split("\t"), positions, len(examples))
        except _Malformed as malformed:
            report.skip(malformed.reason, lineno)
            first_bad = first_bad or (lineno, malformed.reason)
            continue
        if split.is_test and (not example["text_a"] or (task.has_pair and not example["text_b"])):
            report.empty_text_kept += 1
        examples.append(example)
    report.kept = len(examples)
    if not examples:
        raise InputError(f"{path}: no usable rows; expected {task.glue_dir} {split.name} rows")
    if first_bad and sum(report.skipped.values()) > max_malformed_fraction * report.rows:
        lineno, reason = first_bad
        raise InputError(
            f"{path}:{lineno}: {sum(report.skipped.values())} of {report.rows} rows are malformed "
            f"(first: {reason}), above data.max_malformed_fraction={max_malformed_fraction}; "
            f"is this the {task.glue_dir} {split.filename} of a GLUE directory?"
        )
    return examples, report


def read_glue_task(
    glue_dir: str | Path, task: Task, *, max_malformed_fraction: float
) -> Iterator[tuple[Split, list[Example], FileReport]]:
    """Read every split of `task` from a GLUE directory."""
    task_dir = Path(glue_dir) / task.glue_dir
    if not task_dir.is_dir():
        raise InputError(f"{task_dir}: directory not found; expected {task.glue_dir}/ inside the GLUE directory")
    for split in task.splits:
        examples, report = read_glue_file(
            task_dir / split.filename, task, split, max_malformed_fraction=max_malformed_fraction
        )
        yield split, examples, report
