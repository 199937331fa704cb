"""Per-sample rows a method's step exports (LGTM's influence), gathered into one parquet file of
its run: each logged step's rows are appended, with the step number as the first column.

The file is rewritten whole and renamed into place at each append (pipeline.atomic), so a kill
leaves the previous version or the new one; a checkpoint carries a copy of it, so a resumed run
starts from the rows of its checkpoint's step and ends with exactly an uninterrupted run's rows.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.atomic import atomic_path


def due(number: int, every: int, steps: int) -> bool:
    """Whether step `number` of `steps` is logged: every `every` steps and at the last (as
    evaluations are); never for `every` 0."""
    return every > 0 and (number % every == 0 or number == steps)


def append_rows(path: Path, number: int, batches: list[dict[str, list]]) -> None:
    """Append step `number`'s rows (`batches`: one {column: values} per exporting call) to the
    parquet file at `path`, creating it on the first."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    new = pa.concat_tables([pa.Table.from_pydict({"step": [number] * len(next(iter(columns.values()))), **columns})
                            for columns in batches])
    table = pa.concat_tables([pq.read_table(path), new]) if path.is_file() else new
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
