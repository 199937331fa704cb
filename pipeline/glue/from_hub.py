"""Read a GLUE task from the dataset hub (`nyu-mll/glue`) into normalised examples."""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.glue.normalized import TEST_LABEL, Example
from pipeline.glue.tasks import Split, Task
from pipeline.hub import require_hub

GLUE_REPO = "nyu-mll/glue"
DIR_ALTERNATIVE = (
    "use a local GLUE directory instead: `dvc exp run -S data.source=dir -S data.glue_dir=PATH` "
    "(or data.source and data.glue_dir in conf/), or `-S data.source=synthetic` to run offline"
)


def hub_examples(rows, task: Task) -> Iterator[Example]:
    """Normalise the rows of one hub split (dicts with the hub's field names)."""
    field_a, field_b = task.hub_text_fields
    for row in rows:
        label = row["label"]
        yield Example(
            idx=int(row["idx"]),
            text_a=row[field_a],
            text_b=row[field_b] if field_b else None,
            label=TEST_LABEL if label == -1 else (float(label) if task.is_regression else int(label)),
        )


def require_glue_hub(timeout_s: float) -> None:
    """Return if the hub's GLUE can be reached, else raise an InputError naming the alternatives."""
    require_hub(GLUE_REPO, repo_type="dataset", timeout_s=timeout_s, alternative=DIR_ALTERNATIVE)


def read_hub_task(task: Task, *, timeout_s: float) -> Iterator[tuple[Split, list[Example]]]:
    require_glue_hub(timeout_s)
    import datasets

    splits = datasets.load_dataset(GLUE_REPO, task.name)
    for split in task.splits:
        yield split, list(hub_examples(splits[split.hub_split], task))
