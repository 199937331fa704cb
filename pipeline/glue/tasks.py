"""The GLUE tasks: every fact about a task's files, labels and metrics, in one table.

Everything else (readers, the synthetic generator, metrics, submission) looks tasks up here,
so supporting a new task means adding one `Task` entry. docs/glue.md describes the files.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.errors import InputError


@dataclass(frozen=True)
class FileLayout:
    """Where the fields of one GLUE file live.

    Columns are header names, or 0-based positions for files without a header (CoLA's
    train and dev). `label=None` for test files; `index=None` where the file has no index
    column (then the example's position in the file is its index).
    """

    header: bool
    text_a: str | int
    text_b: str | int | None = None
    label: str | int | None = None
    index: str | int | None = None


@dataclass(frozen=True)
class Split:
    name: str  # normalised split name: train, dev, test, dev_matched, ...
    filename: str  # file inside the task's GLUE directory
    hub_split: str  # split name on the dataset hub
    layout: FileLayout

    @property
    def is_test(self) -> bool:
        return self.layout.label is None


@dataclass(frozen=True)
class Task:
    name: str  # our name and the hub config: cola, sst2, ...
    glue_dir: str  # directory in the original GLUE layout: CoLA, SST-2, ...
    splits: tuple[Split, ...]
    # Label names in the fixed (hub) order used for model outputs; empty for regression.
    labels: tuple[str, ...]
    # How each label index is spelled in the GLUE files (and in hub-free predictions).
    file_labels: tuple[str, ...]
    metrics: tuple[str, ...]  # dev metrics reported, see pipeline.results.metrics
    selection_metric: str  # the metric the best checkpoint is chosen by
    hub_text_fields: tuple[str, str | None] = ("sentence1", "sentence2")
    # Real GLUE row counts per split, used by the synthetic generator at full scale.
    real_sizes: dict[str, int] = field(default_factory=dict)
    # Benchmark-server file name of each test split (docs/glue.md, the submission).
    submission_files: dict[str, str] = field(default_factory=dict)
    # Test-only tasks (AX) are predicted with another task's model.
    predicted_with: str | None = None

    @property
    def is_regression(self) -> bool:
        return not self.labels

    @property
    def num_labels(self) -> int:
        return 1 if self.is_regression else len(self.labels)

    def label_text(self, label: int | float) -> str:
        """A label index (a score for regression) as the GLUE files and the benchmark server spell it."""
        return f"{float(label):.3f}" if self.is_regression else self.file_labels[int(label)]

    @property
    def has_pair(self) -> bool:
        return self.hub_text_fields[1] is not None

    def split(self, name: str) -> Split:
        for split in self.splits:
            if split.name == name:
                return split
        raise KeyError(f"task {self.name} has no split {name!r}; it has {[split.name for split in self.splits]}")

    @property
    def dev_splits(self) -> list[Split]:
        return [s for s in self.splits if s.name.startswith("dev")]

    @property
    def test_splits(self) -> list[Split]:
        return [s for s in self.splits if s.is_test]


def _standard_splits(train_dev: FileLayout, test: FileLayout) -> tuple[Split, ...]:
    return (
        Split("train", "train.tsv", "train", train_dev),
        Split("dev", "dev.tsv", "validation", train_dev),
        Split("test", "test.tsv", "test", test),
    )


_BINARY_FILE_LABELS = ("0", "1")
_MNLI_TRAIN_DEV = FileLayout(header=True, text_a="sentence1", text_b="sentence2", label="gold_label")
_MNLI_TEST = FileLayout(header=True, text_a="sentence1", text_b="sentence2", index="index")

TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            name="cola",
            glue_dir="CoLA",
            splits=_standard_splits(
                FileLayout(header=False, text_a=3, label=1),
                FileLayout(header=True, text_a="sentence", index="index"),
            ),
            labels=("unacceptable", "acceptable"),
            file_labels=_BINARY_FILE_LABELS,
            metrics=("mcc",),
            selection_metric="mcc",
            hub_text_fields=("sentence", None),
            real_sizes={"train": 8551, "dev": 1043, "test": 1063},
            submission_files={"test": "CoLA.tsv"},
        ),
        Task(
            name="sst2",
            glue_dir="SST-2",
            splits=_standard_splits(
                FileLayout(header=True, text_a="sentence", label="label"),
                FileLayout(header=True, text_a="sentence", index="index"),
            ),
            labels=("negative", "positive"),
            file_labels=_BINARY_FILE_LABELS,
            metrics=("accuracy",),
            selection_metric="accuracy",
            hub_text_fields=("sentence", None),
            real_sizes={"train": 67349, "dev": 872, "test": 1821},
            submission_files={"test": "SST-2.tsv"},
        ),
        Task(
            name="mrpc",
            glue_dir="MRPC",
            splits=_standard_splits(
                FileLayout(header=True, text_a="#1 String", text_b="#2 String", label="Quality"),
                FileLayout(header=True, text_a="#1 String", text_b="#2 String", index="index"),
            ),
            labels=("not_equivalent", "equivalent"),
            file_labels=_BINARY_FILE_LABELS,
            metrics=("f1", "accuracy"),
            selection_metric="f1",
            real_sizes={"train": 3668, "dev": 408, "test": 1725},
            submission_files={"test": "MRPC.tsv"},
        ),
        Task(
            name="stsb",
            glue_dir="STS-B",
            splits=_standard_splits(
                FileLayout(header=True, text_a="sentence1", text_b="sentence2", label="score"),
                FileLayout(header=True, text_a="sentence1", text_b="sentence2", index="index"),
            ),
            labels=(),
            file_labels=(),
            metrics=("pearson", "spearman"),
            selection_metric="pearson",
            real_sizes={"train": 5749, "dev": 1500, "test": 1379},
            submission_files={"test": "STS-B.tsv"},
        ),
        Task(
            name="qqp",
            glue_dir="QQP",
            splits=_standard_splits(
                FileLayout(header=True, text_a="question1", text_b="question2", label="is_duplicate"),
                FileLayout(header=True, text_a="question1", text_b="question2", index="id"),
            ),
            labels=("not_duplicate", "duplicate"),
            file_labels=_BINARY_FILE_LABELS,
            metrics=("f1", "accuracy"),
            selection_metric="f1",
            hub_text_fields=("question1", "question2"),
            real_sizes={"train": 363846, "dev": 40430, "test": 390965},
            submission_files={"test": "QQP.tsv"},
        ),
        Task(
            name="mnli",
            glue_dir="MNLI",
            splits=(
                Split("train", "train.tsv", "train", _MNLI_TRAIN_DEV),
                Split("dev_matched", "dev_matched.tsv", "validation_matched", _MNLI_TRAIN_DEV),
                Split("dev_mismatched", "dev_mismatched.tsv", "validation_mismatched", _MNLI_TRAIN_DEV),
                Split("test_matched", "test_matched.tsv", "test_matched", _MNLI_TEST),
                Split("test_mismatched", "test_mismatched.tsv", "test_mismatched", _MNLI_TEST),
            ),
            labels=("entailment", "neutral", "contradiction"),
            file_labels=("entailment", "neutral", "contradiction"),
            metrics=("accuracy",),
            selection_metric="accuracy",
            hub_text_fields=("premise", "hypothesis"),
            real_sizes={
                "train": 392702,
                "dev_matched": 9815,
                "dev_mismatched": 9832,
                "test_matched": 9796,
                "test_mismatched": 9847,
            },
            submission_files={"test_matched": "MNLI-m.tsv", "test_mismatched": "MNLI-mm.tsv"},
        ),
        Task(
            name="qnli",
            glue_dir="QNLI",
            splits=_standard_splits(
                FileLayout(header=True, text_a="question", text_b="sentence", label="label"),
                FileLayout(header=True, text_a="question", text_b="sentence", index="index"),
            ),
            labels=("entailment", "not_entailment"),
            file_labels=("entailment", "not_entailment"),
            metrics=("accuracy",),
            selection_metric="accuracy",
            hub_text_fields=("question", "sentence"),
            real_sizes={"train": 104743, "dev": 5463, "test": 5463},
            submission_files={"test": "QNLI.tsv"},
        ),
        Task(
            name="rte",
            glue_dir="RTE",
            splits=_standard_splits(
                FileLayout(header=True, text_a="sentence1", text_b="sentence2", label="label"),
                FileLayout(header=True, text_a="sentence1", text_b="sentence2", index="index"),
            ),
            labels=("entailment", "not_entailment"),
            file_labels=("entailment", "not_entailment"),
            metrics=("accuracy",),
            selection_metric="accuracy",
            real_sizes={"train": 2490, "dev": 277, "test": 3000},
            submission_files={"test": "RTE.tsv"},
        ),
        Task(
            name="wnli",
            glue_dir="WNLI",
            splits=_standard_splits(
                FileLayout(header=True, text_a="sentence1", text_b="sentence2", label="label"),
                FileLayout(header=True, text_a="sentence1", text_b="sentence2", index="index"),
            ),
            labels=("not_entailment", "entailment"),
            file_labels=_BINARY_FILE_LABELS,
            metrics=("accuracy",),
            selection_metric="accuracy",
            real_sizes={"train": 635, "dev": 71, "test": 146},
            submission_files={"test": "WNLI.tsv"},
        ),
        Task(
            name="ax",
            glue_dir="diagnostic",
            splits=(
                Split(
                    "test",
                    "diagnostic.tsv",
                    "test",
                    FileLayout(header=True, text_a="sentence1", text_b="sentence2", index="index"),
                ),
            ),
            labels=("entailment", "neutral", "contradiction"),
            file_labels=("entailment", "neutral", "contradiction"),
            metrics=(),
            selection_metric="",
            hub_text_fields=("premise", "hypothesis"),
            real_sizes={"test": 1104},
            submission_files={"test": "AX.tsv"},
            predicted_with="mnli",
        ),
    )
}

def test_targets(task: Task) -> list[tuple[Task, Split, str]]:
    """What a model of `task` predicts for the server: (task, test split, key) for its own test
    splits (key: the split's name) and those of tasks predicted with it (AX for MNLI; key
    `ax_test`). The key names the split in the tokenized data and in a run's outputs."""
    targets = [(task, split, split.name) for split in task.test_splits]
    for other in TASKS.values():
        if other.predicted_with == task.name:
            targets += [(other, split, f"{other.name}_{split.name}") for split in other.test_splits]
    return targets


def get_task(name: str) -> Task:
    """The task called `name`, or a one-line error listing the known ones."""
    try:
        return TASKS[name]
    except KeyError:
        raise InputError(f"unknown task {name!r}; expected one of: {', '.join(TASKS)}") from None
