"""One entry point over the data sources: synthetic, a GLUE directory, the hub, and the Rotten
Tomatoes snippets in SST-2's layout."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import InputError
from pipeline.glue import from_dir, from_hub, rotten_tomatoes, synthetic
from pipeline.glue.from_dir import FileReport
from pipeline.glue.normalized import Example
from pipeline.glue.tasks import Split, Task

if TYPE_CHECKING:
    from pipeline.settings.params import SyntheticParams


def check_source(source: str, glue_dir: str | None, tasks: list[Task], *, hub_timeout_s: float) -> None:
    """Fail now, with what to do instead, if the source cannot give `tasks`: the hub is
    unreachable, or the GLUE directory lacks a task's directory."""
    if source == "hub":
        from_hub.require_glue_hub(hub_timeout_s)
    elif source == "rotten_tomatoes":
        rotten_tomatoes.corpus_path()
    elif source == "dir":
        missing = [task.glue_dir for task in tasks if not (Path(glue_dir) / task.glue_dir).is_dir()]
        if missing:
            raise InputError(f"data.glue_dir: {glue_dir} has no {', '.join(missing)}; expected the original GLUE "
                             "directory (what download_glue_data.py writes)")


def _sizes(task: Task, synthetic_data: SyntheticParams) -> dict[str, int]:
    return synthetic.split_sizes(task, real_sizes=synthetic_data.real_sizes, train_rows=synthetic_data.train_rows,
                                 dev_rows=synthetic_data.dev_rows, test_rows=synthetic_data.test_rows)


def write_synthetic_glue(glue_dir: str | Path, tasks: list[Task], synthetic_data: SyntheticParams) -> None:
    """The synthetic GLUE files of `tasks`, in the original layout, under `glue_dir`."""
    for task in tasks:
        synthetic.write_task(glue_dir, task, _sizes(task, synthetic_data), seed=synthetic_data.seed,
                             label_noise=synthetic_data.label_noise, defect_rate=synthetic_data.defect_rate)


def task_splits(
    task: Task,
    *,
    source: str,
    glue_dir: str | None,
    synthetic_data: SyntheticParams,
    max_malformed_fraction: float,
    hub_timeout_s: float,
    rotten_tomatoes_seed: int = 0,
    rotten_tomatoes_train_rows: int | None = None,
    truth_dir: Path | None = None,
) -> Iterator[tuple[Split, list[Example], FileReport | None]]:
    """Every split of `task` as normalised examples, with the reader's report (none for the hub).

    Where the task's directory has the generator's `truth/` (true test labels, flipped labels:
    the synthetic source, or a directory it wrote), it is copied to `truth_dir` once every
    split has been read.
    """
    if source == "hub":
        for split, examples in from_hub.read_hub_task(task, timeout_s=hub_timeout_s):
            yield split, examples, None
    elif source == "synthetic":
        yield from _written_then_read(task, "synthetic", lambda raw: write_synthetic_glue(raw, [task], synthetic_data),
                                      max_malformed_fraction, truth_dir)
    elif source == "rotten_tomatoes":
        if task.name != "sst2":
            raise InputError(f"data.tasks: {task.name}: the rotten_tomatoes source makes sst2 alone")
        yield from _written_then_read(task, "rotten_tomatoes",
                                      lambda raw: rotten_tomatoes.write_task(raw, seed=rotten_tomatoes_seed,
                                                                                   train_rows=rotten_tomatoes_train_rows),
                                      max_malformed_fraction, truth_dir)
    else:  # dir
        if not glue_dir:
            raise InputError("data.glue_dir: a GLUE directory is required for source 'dir' (or pass --glue-dir PATH)")
        if not Path(glue_dir).is_dir():
            raise InputError(f"{glue_dir}: GLUE directory not found")
        yield from from_dir.read_glue_task(glue_dir, task, max_malformed_fraction=max_malformed_fraction)
        _copy_truth(Path(glue_dir) / task.glue_dir, truth_dir)


def _written_then_read(task: Task, source: str, write, max_malformed_fraction: float,
                       truth_dir: Path | None) -> Iterator[tuple[Split, list[Example], FileReport]]:
    """A generated source: `write(raw)` writes the task in the original GLUE layout into a
    temporary directory, read back by the same reader as real files."""
    with tempfile.TemporaryDirectory(prefix=f"{source}-glue-") as raw:
        write(raw)
        for split, examples, report in from_dir.read_glue_task(raw, task, max_malformed_fraction=max_malformed_fraction):
            # The temporary directory's name is random: report the file as the layout names it,
            # so that the same seed writes the same report, and DVC sees the same output.
            report.path = f"{source}:{Path(report.path).relative_to(raw)}"
            yield split, examples, report
        _copy_truth(Path(raw) / task.glue_dir, truth_dir)


def _copy_truth(task_dir: Path, truth_dir: Path | None) -> None:
    if truth_dir is not None and (task_dir / synthetic.TRUTH_DIR).is_dir():
        shutil.copytree(task_dir / synthetic.TRUTH_DIR, truth_dir)
