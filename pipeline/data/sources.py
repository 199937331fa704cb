"""One entry point over the three data sources: synthetic, a GLUE directory, the hub."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

from pipeline.data import glue_dir as glue_dir_reader
from pipeline.data import hub, synthetic
from pipeline.data.glue_dir import FileReport
from pipeline.data.normalized import Example
from pipeline.errors import InputError
from pipeline.params import DataParams
from pipeline.tasks import Split, Task

SOURCES = ("synthetic", "dir", "hub")


def task_splits(
    task: Task, *, source: str, glue_dir: str | None, data: DataParams, hub_timeout_s: float
) -> Iterator[tuple[Split, list[Example], FileReport | None]]:
    """Every split of `task` as normalised examples, with the reader's report (none for the hub)."""
    if source == "hub":
        for split, examples in hub.read_hub_task(task, timeout_s=hub_timeout_s):
            yield split, examples, None
    elif source == "synthetic":
        # Written in the original GLUE layout, then read back by the same reader as real files.
        settings = data.synthetic
        sizes = synthetic.split_sizes(
            task,
            real_sizes=settings.real_sizes,
            train_rows=settings.train_rows,
            dev_rows=settings.dev_rows,
            test_rows=settings.test_rows,
        )
        with tempfile.TemporaryDirectory(prefix="synthetic-glue-") as raw:
            synthetic.write_task(
                raw, task, sizes, seed=settings.seed, label_noise=settings.label_noise, defect_rate=settings.defect_rate
            )
            for split, examples, report in glue_dir_reader.read_glue_task(
                raw, task, max_malformed_fraction=data.max_malformed_fraction
            ):
                # The temporary directory's name is random: report the file as the layout names it,
                # so that the same seed writes the same report, and DVC sees the same output.
                report.path = f"synthetic:{Path(report.path).relative_to(raw)}"
                yield split, examples, report
    elif source == "dir":
        if not glue_dir:
            raise InputError("data.glue_dir: a GLUE directory is required for source 'dir' (or pass --glue-dir PATH)")
        if not Path(glue_dir).is_dir():
            raise InputError(f"{glue_dir}: GLUE directory not found")
        yield from glue_dir_reader.read_glue_task(glue_dir, task, max_malformed_fraction=data.max_malformed_fraction)
    else:
        raise InputError(f"data.source: unknown source {source!r}; expected one of: {', '.join(SOURCES)}")
