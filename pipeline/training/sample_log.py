"""Per-sample rows a method's step exports (LGTM's influence), gathered into one parquet file of
its run: each logged step's rows, with the step number as the first column.

The rows are kept in memory and the file is written whole, renamed into place (pipeline.atomic),
before each checkpoint and at the end: rewriting it at every logged step would cost the square of
the steps. A checkpoint carries a copy of the file, so a resumed run starts from the rows of its
checkpoint's step and ends with exactly an uninterrupted run's rows.
"""

from __future__ import annotations

from pathlib import Path


def due(number: int, every: int, steps: int) -> bool:
    """Whether step `number` of `steps` is logged: every `every` steps and at the last (as
    evaluations are); never for `every` 0."""
    return every > 0 and (number % every == 0 or number == steps)


class SampleLog:
    """The rows of the parquet file at `path`: those it holds already (a resumed run's), then
    each appended step's."""

    def __init__(self, path: Path):
        import pyarrow.parquet as pq

        self.path = path
        self.tables = [pq.read_table(path)] if path.is_file() else []

    def append(self, number: int, batches: list[dict[str, list]]) -> None:
        """Step `number`'s rows: one {column: values} per exporting call."""
        import pyarrow as pa

        self.tables += [pa.Table.from_pydict({"step": [number] * len(next(iter(columns.values()))), **columns})
                        for columns in batches]

    def write(self) -> None:
        """The file, with every row so far (none written while there are none)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from pipeline.atomic import atomic_path

        if self.tables:
            with atomic_path(self.path) as tmp:
                pq.write_table(pa.concat_tables(self.tables), tmp)
