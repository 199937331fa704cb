"""A deterministic, learnable stand-in for GLUE, written in the original GLUE layout.

Each task gets text whose label a small model can learn from the words (sentiment from a
lexicon, paraphrase by synonym substitution and reordering, entailment from templates with
negation or new information), plus label noise, plus the defects real files have (rows with a
missing text, lines with too few fields). The files are then read by the `dir` reader: the
synthetic data goes through exactly the code path of a real GLUE directory.

Determinism: every file is drawn from `random.Random(f"{seed}/{task}/{split}")`, which does not
depend on Python's hash seed, so the same seed writes byte-identical files.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from pipeline.glue.tasks import Split, Task

NOUNS = (
    "dog cat teacher pilot farmer doctor child artist driver singer lawyer baker sailor "
    "student nurse author chef judge player scientist"
).split()
OBJECTS = "ball book car letter song house cake boat picture garden bridge window road map key".split()
PLACES = "park city kitchen school garden market station library harbor village".split()
VERBS = "painted found washed opened moved cleaned carried built sold watched".split()
NEW_ADJECTIVES = "hungry tired famous nervous quiet clever angry lonely proud busy".split()
POSITIVE = "wonderful brilliant delightful superb charming moving excellent lovely".split()
NEGATIVE = "awful boring dreadful tedious clumsy dull painful terrible".split()
NEUTRAL_FILLERS = "long new old strange simple french recent small".split()
SCENE_ADJECTIVES = "crowded quiet busy empty cold warm noisy closed".split()
# Paraphrase pairs: the second word means the first.
SYNONYMS = {
    "dog": "hound", "car": "automobile", "house": "home", "child": "kid", "author": "writer",
    "road": "street", "boat": "ship", "picture": "photo", "doctor": "physician",
    "found": "discovered", "built": "constructed", "sold": "traded", "watched": "observed",
    "moved": "shifted", "cleaned": "scrubbed", "big": "large", "quick": "fast",
}
GENRES = "fiction government slate telephone travel".split()
# STS-B: a changed content word comes from these, never from the pools above, so that how much
# a pair differs shows in its words (a tiny model learns that within the demo's steps; matching
# the two sentences word by word, which the scores also follow, it does not).
OTHER_WORDS = {
    1: "stranger visitor neighbour merchant soldier".split(),  # the subject
    2: "ignored forgot described borrowed repaired".split(),  # the verb
    4: "lamp chair coat basket clock".split(),  # the object
    7: "desert forest valley island tunnel".split(),  # the place
}

_Row = tuple[str, str | None, "int | float"]  # text_a, text_b, label index or score


def _clause(rng: random.Random) -> list[str]:
    return ["the", rng.choice(NOUNS), rng.choice(VERBS), "the", rng.choice(OBJECTS), "in", "the", rng.choice(PLACES)]


def _paraphrase(rng: random.Random, words: list[str]) -> list[str]:
    """The same meaning: synonyms for some words, and the place phrase moved to the front.

    At least one of the two always happens, so that every paraphrase shows a change a small
    model can learn to read (a synonym, or the moved phrase), beyond matching the words.
    """
    out = [SYNONYMS.get(w, w) if rng.random() < 0.6 else w for w in words]
    if (out == words or rng.random() < 0.5) and "in" in out:
        cut = out.index("in")
        out = out[cut:] + [","] + out[:cut]
    return out


def _sentiment(rng: random.Random) -> _Row:
    label = rng.randrange(2)
    pools = (NEGATIVE, POSITIVE)
    n_words = rng.choice((1, 3))
    n_majority = n_words // 2 + 1
    words = [rng.choice(pools[label]) for _ in range(n_majority)]
    words += [rng.choice(pools[1 - label]) for _ in range(n_words - n_majority)]
    rng.shuffle(words)
    subject = rng.choice(("the film", "this movie", "the story", "the acting", "the ending"))
    fillers = rng.sample(NEUTRAL_FILLERS, 2)
    return f"{subject} , {fillers[0]} and {fillers[1]} , was {' and '.join(words)} .", None, label


def _acceptability(rng: random.Random) -> _Row:
    words = _clause(rng)
    label = rng.randrange(2)
    if label == 0:  # unacceptable: scrambled word order
        while True:
            scrambled = rng.sample(words, len(words))
            if scrambled != words:
                words = scrambled
                break
    return " ".join(words) + " .", None, label


def _paraphrase_pair(rng: random.Random, question: bool) -> _Row:
    words = _clause(rng)
    label = rng.randrange(2)
    if label == 1:
        other = _paraphrase(rng, words)
    else:  # same subject, different event
        other = _clause(rng)
        other[1] = words[1]
    end = " ?" if question else " ."
    prefix = "why did " if question else ""
    return prefix + " ".join(words) + end, prefix + " ".join(other) + end, label


def _similarity(rng: random.Random) -> _Row:
    words = _clause(rng)
    other = list(words)
    content = list(OTHER_WORDS)  # positions of the content words in a clause
    changed = rng.sample(content, rng.randrange(len(content) + 1))
    for position in changed:
        other[position] = rng.choice(OTHER_WORDS[position])
    score = 5.0 * (1 - len(changed) / len(content))
    score = min(5.0, max(0.0, score + rng.uniform(-0.4, 0.4)))
    return " ".join(words) + " .", " ".join(_paraphrase(rng, other)) + " .", round(score, 3)


def _entailment(rng: random.Random, n_labels: int) -> _Row:
    """Labels in MNLI order: 0 entailment, 1 neutral, 2 contradiction (1 = not entailed if binary)."""
    words = _clause(rng)
    premise = " ".join(words) + " ."
    kind = rng.randrange(3)
    noun, verb, obj = words[1], words[2], words[4]
    if kind == 0:
        hypothesis = rng.choice(
            (f"a {noun} {verb} something", f"the {obj} was {verb} by a {noun}", f"a {noun} was in the {words[7]}")
        )
    elif kind == 1:
        hypothesis = f"the {rng.choice(NEW_ADJECTIVES)} {noun} {verb} the {obj} for a {rng.choice(NOUNS)}"
    else:
        hypothesis = rng.choice(
            (f"the {noun} did not touch the {obj}", f"nobody {verb} the {obj}", f"the {noun} never left the house")
        )
    label = kind if n_labels == 3 else min(kind, 1)
    return premise, hypothesis + " .", label


def _question_answer(rng: random.Random) -> _Row:
    words = _clause(rng)
    label = rng.randrange(2)  # 0 entailment: the sentence answers the question
    question = f"what did the {words[1]} {rng.choice(('do', 'touch', 'use'))} in the {words[7]} ?"
    if label == 0:
        sentence = list(words)
    elif rng.random() < 0.5:  # about the same place, but says nothing of what happened there
        sentence = ["the", words[7], "was", rng.choice(SCENE_ADJECTIVES), "that", "day"]
    else:  # the same kind of sentence, about someone else
        sentence = _clause(rng)
        if sentence[1] == words[1]:
            sentence[1] = rng.choice([n for n in NOUNS if n != words[1]])
    return question, " ".join(sentence) + " .", label


_GENERATORS: dict[str, Callable[[random.Random], _Row]] = {
    "cola": _acceptability,
    "sst2": _sentiment,
    "mrpc": lambda rng: _paraphrase_pair(rng, question=False),
    "qqp": lambda rng: _paraphrase_pair(rng, question=True),
    "stsb": _similarity,
    "mnli": lambda rng: _entailment(rng, 3),
    "ax": lambda rng: _entailment(rng, 3),
    "qnli": _question_answer,
    "rte": lambda rng: _entailment(rng, 2),
    # WNLI's label order is [not_entailment, entailment]: flip the entailment generator's.
    "wnli": lambda rng: (lambda a, b, label: (a, b, 1 - label))(*_entailment(rng, 2)),
}


def _noisy(rng: random.Random, task: Task, label: int | float, noise: float) -> int | float:
    if rng.random() >= noise:
        return label
    if task.is_regression:
        return round(rng.uniform(0.0, 5.0), 3)
    return rng.choice([other for other in range(task.num_labels) if other != label])


def _file_line(task: Task, split: Split, i: int, rng: random.Random, row: _Row) -> list[str]:
    """One row in the exact columns of the task's original file."""
    a, b, label = row
    test = split.is_test
    label_text = "" if test else (f"{label:.3f}" if task.is_regression else task.file_labels[int(label)])
    b = b or ""
    if task.name == "cola":
        if test:
            return [str(i), a]
        return [rng.choice(("gj04", "bc01", "ks08")), label_text, "" if label == 1 else "*", a]
    if task.name == "sst2":
        return [str(i), a] if test else [a, label_text]
    if task.name == "mrpc":
        ids = [str(rng.randrange(10**6)), str(rng.randrange(10**6))]
        return [str(i), *ids, a, b] if test else [label_text, *ids, a, b]
    if task.name == "stsb":
        meta = [str(i), "main-captions", "MSRvid", "2012test", f"{i:04d}", "none", "none", a, b]
        return meta if test else [*meta, label_text]
    if task.name == "qqp":
        if test:
            return [str(i), a, b]
        return [str(i), str(2 * i + 1), str(2 * i + 2), a, b, label_text]
    if task.name in ("mnli", "ax"):
        if task.name == "ax":
            return [str(i), a, b]
        parses = [f"( {a} )", f"( {b} )", f"(ROOT {a})", f"(ROOT {b})"]
        meta = [str(i), str(rng.randrange(10**5)), f"{rng.randrange(10**5)}e", rng.choice(GENRES), *parses, a, b]
        if test:
            return meta
        annotator_labels = [label_text] * (5 if split.name.startswith("dev") else 1)
        return [*meta, *annotator_labels, label_text]
    # qnli, rte, wnli: index, text_a, text_b, label
    return [str(i), a, b] if test else [str(i), a, b, label_text]


_HEADERS = {
    "cola": (None, ["index", "sentence"]),
    "sst2": (["sentence", "label"], ["index", "sentence"]),
    "mrpc": (
        ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"],
        ["index", "#1 ID", "#2 ID", "#1 String", "#2 String"],
    ),
    "stsb": (
        "index genre filename year old_index source1 source2 sentence1 sentence2 score".split(),
        "index genre filename year old_index source1 source2 sentence1 sentence2".split(),
    ),
    "qqp": (["id", "qid1", "qid2", "question1", "question2", "is_duplicate"], ["id", "question1", "question2"]),
    "qnli": (["index", "question", "sentence", "label"], ["index", "question", "sentence"]),
    "rte": (["index", "sentence1", "sentence2", "label"], ["index", "sentence1", "sentence2"]),
    "wnli": (["index", "sentence1", "sentence2", "label"], ["index", "sentence1", "sentence2"]),
    "ax": (None, ["index", "sentence1", "sentence2"]),
}
_MNLI_META = (
    "index promptID pairID genre sentence1_binary_parse sentence2_binary_parse "
    "sentence1_parse sentence2_parse sentence1 sentence2"
).split()


def _header(task: Task, split: Split) -> list[str] | None:
    if task.name == "mnli":
        if split.is_test:
            return _MNLI_META
        labels = ["label1", "label2", "label3", "label4", "label5"] if split.name.startswith("dev") else ["label1"]
        return [*_MNLI_META, *labels, "gold_label"]
    train_dev, test = _HEADERS[task.name]
    return test if split.is_test else train_dev


def _defective(rng: random.Random, fields: list[str], texts: tuple[str, str | None]) -> list[str]:
    """A row with one of the defects real GLUE files have."""
    if rng.random() < 0.5:
        return fields[: len(fields) // 2]  # truncated line: too few fields
    text_columns = [i for i, value in enumerate(fields) if value in texts]
    broken = list(fields)
    broken[rng.choice(text_columns)] = ""  # a missing question, as in QQP's train.tsv
    return broken


def write_task(
    glue_dir: str | Path,
    task: Task,
    sizes: dict[str, int],
    *,
    seed: int,
    label_noise: float,
    defect_rate: float,
) -> Path:
    """Write every split file of `task` under `glue_dir/<GLUE name>/`; returns that directory.

    `sizes` maps split names to the number of good rows; training files get about
    `defect_rate` extra defective rows on top (test files never do: every test row must be
    predicted).
    """
    task_dir = Path(glue_dir) / task.glue_dir
    task_dir.mkdir(parents=True, exist_ok=True)
    generate = _GENERATORS[task.name]
    for split in task.splits:
        rng = random.Random(f"{seed}/{task.name}/{split.name}")
        lines = []
        header = _header(task, split)
        if header is not None:
            lines.append("\t".join(header))
        for i in range(sizes[split.name]):
            a, b, label = generate(rng)
            if not split.is_test:
                label = _noisy(rng, task, label, label_noise)
            fields = _file_line(task, split, i, rng, (a, b, label))
            if split.name == "train" and rng.random() < defect_rate:
                lines.append("\t".join(_defective(rng, fields, (a, b))))
            lines.append("\t".join(fields))
        # MRPC's real train and dev files begin with a byte-order mark.
        bom = "\ufeff" if task.name == "mrpc" and not split.is_test else ""
        (task_dir / split.filename).write_text(bom + "\n".join(lines) + "\n", encoding="utf-8")
    return task_dir


def split_sizes(task: Task, *, real_sizes: bool, train_rows: int, dev_rows: int, test_rows: int) -> dict[str, int]:
    """Rows per split: the real GLUE counts, or the small demo sizes."""
    if real_sizes:
        return dict(task.real_sizes)
    by_kind = {"train": train_rows, "dev": dev_rows, "test": test_rows}
    return {split.name: by_kind[split.name.split("_")[0]] for split in task.splits}
