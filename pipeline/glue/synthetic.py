"""A deterministic, learnable stand-in for GLUE, written in the original GLUE layout.

Each task's labels come in two kinds of rows: easy ones, readable from the words alone
(sentiment from a lexicon, a different event, new information), and hard ones, readable only
through composition (a negated adjective, the clause after "but", the same words with the
roles of two people swapped, an event told in the passive voice, neighbouring words swapped).
A two-layer teacher learns the hard rows sooner than a one-layer student: the capacity gap
distillation is about. Then label noise (`label_noise`, on every split, recorded), and the
defects real files have (rows with a missing text, lines with too few fields). The files are
read by the `dir` reader: the synthetic data goes through exactly the code path of a real GLUE
directory. Beside them, `truth/` keeps the test labels and the flipped ones (`write_truth`).

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
MILD_POSITIVE = "good fine nice decent".split()
MILD_NEGATIVE = "bad poor weak flat".split()
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

TRUTH_DIR = "truth"  # beside each task's GLUE files (write_truth)
_Row = tuple[str, str | None, "int | float"]  # text_a, text_b, label index or score

# Events with two people in them: who did what to whom. Sentences say an event in the active
# or the passive voice, so the same words can carry opposite roles ("the dog helped the cat",
# "the cat was helped by the dog", "the cat helped the dog"): telling them apart takes word
# order and the words around each noun, which a one-layer student reads worse than its teacher.
ROLE_VERBS = "helped called followed visited thanked blamed greeted pushed".split()
ROLE_BASE = {"helped": "help", "called": "call", "followed": "follow", "visited": "visit", "thanked": "thank",
             "blamed": "blame", "greeted": "greet", "pushed": "push"}
ROLE_SYNONYMS = {"helped": "assisted", "called": "phoned", "followed": "trailed", "visited": "saw",
                 "thanked": "praised", "blamed": "accused", "greeted": "welcomed", "pushed": "shoved"}


def _clause(rng: random.Random) -> list[str]:
    return ["the", rng.choice(NOUNS), rng.choice(VERBS), "the", rng.choice(OBJECTS), "in", "the", rng.choice(PLACES)]


def _event(rng: random.Random) -> tuple[str, str, str, str]:
    """(agent, verb, patient, place): two different people."""
    agent, patient = rng.sample(NOUNS, 2)
    return agent, rng.choice(ROLE_VERBS), patient, rng.choice(PLACES)


def _say(event: tuple[str, str, str, str], *, passive: bool, synonyms: bool = False) -> list[str]:
    agent, verb, patient, place = event
    if synonyms:
        verb = ROLE_SYNONYMS[verb]
    if passive:
        return ["the", patient, "was", verb, "by", "the", agent, "in", "the", place]
    return ["the", agent, verb, "the", patient, "in", "the", place]


def _swapped(event: tuple[str, str, str, str]) -> tuple[str, str, str, str]:
    agent, verb, patient, place = event
    return patient, verb, agent, place


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
    """The film's verdict: from a strong word (easy), or from a mild word that "not" may turn
    around (hard: the word alone says nothing, only with the words before it), or from the
    second of two clauses joined by "but" (the first a mild word, misleading half the time)."""
    label = rng.randrange(2)
    subject = rng.choice(("the film", "this movie", "the story", "the acting", "the ending"))
    kind = rng.choice(("strong", "strong", "mild", "but"))
    if kind == "strong":
        verdict = f"was {rng.choice((NEGATIVE, POSITIVE)[label])}"
    elif kind == "mild":
        negated = rng.random() < 0.5
        word = rng.choice((MILD_NEGATIVE, MILD_POSITIVE)[label != negated])
        verdict = f"was {'not ' if negated else ''}{word}"
    else:
        first = rng.choice(("the start", "the music", "the cast", "the plot"))
        verdict = f"was {rng.choice(MILD_NEGATIVE + MILD_POSITIVE)} but {first} was {rng.choice((NEGATIVE, POSITIVE)[label])}"
    return f"{subject} , {rng.choice(NEUTRAL_FILLERS)} and {rng.choice(NEUTRAL_FILLERS)} , {verdict} .", None, label


def _acceptability(rng: random.Random) -> _Row:
    """Unacceptable: the clause scrambled (easy), or two neighbouring words swapped (hard)."""
    words = _clause(rng)
    label = rng.randrange(2)
    if label == 0:
        original = list(words)
        while words == original:
            if rng.random() < 0.5:
                words = rng.sample(original, len(original))
            else:
                cut = rng.randrange(len(original) - 1)
                words = original[:cut] + [original[cut + 1], original[cut]] + original[cut + 2:]
    return " ".join(words) + " .", None, label


def _paraphrase_pair(rng: random.Random, question: bool) -> _Row:
    """Paraphrases say one event with synonyms (easy) or in the other voice (hard);
    non-paraphrases are another event of the same person (easy) or the same two people with
    their roles swapped (hard), said in the same voice or the other one. A third of the rows
    are hard, and in them neither a change of voice nor the order of the two names gives the
    label away: only both together do."""
    event = _event(rng)
    label = rng.randrange(2)
    hard = rng.random() < 1 / 3
    passive = rng.random() < 0.5
    if label == 1:
        other_event, other_passive = event, passive != hard
    elif hard:
        other_event, other_passive = _swapped(event), passive != (rng.random() < 0.5)
    else:
        other_event, other_passive = (event[0], *_event(rng)[1:]), passive
    first = _say(event, passive=passive)
    second = _say(other_event, passive=other_passive, synonyms=label == 1 and not hard)
    end = " ?" if question else " ."
    prefix = "is it true that " if question else ""
    return prefix + " ".join(first) + end, prefix + " ".join(second) + end, label


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
    """Labels in MNLI order: 0 entailment, 1 neutral, 2 contradiction (1 = not entailed if binary).

    Each label has an easy form, readable from its words, and a hard one, readable only from
    who did what: the premise's event in either voice entails, its roles swapped are neutral,
    and its own event denied ("the cat was not helped by the dog") contradicts.
    """
    event = _event(rng)
    agent, verb, patient, place = event
    premise = " ".join(_say(event, passive=rng.random() < 0.5)) + " ."
    kind = rng.randrange(3)
    hard = rng.random() < 0.5
    if kind == 0:
        hypothesis = _say(event, passive=rng.random() < 0.5, synonyms=rng.random() < 0.5) if hard else (
            rng.choice((["a", agent, verb, "someone"], ["someone", verb, "a", patient], ["a", agent, "was", "in", "the", place])))
    elif kind == 1:
        hypothesis = _say(_swapped(event), passive=rng.random() < 0.5) if hard else (
            ["the", rng.choice(NEW_ADJECTIVES), agent, verb, "the", patient, "for", "a", rng.choice(NOUNS)])
    elif hard:
        said = _say(event, passive=rng.random() < 0.5)
        hypothesis = said[:2] + (["was", "not"] + said[3:] if said[2] == "was" else ["did", "not", ROLE_BASE[verb]] + said[3:])
    else:
        hypothesis = rng.choice((["nobody", verb, "the", patient], ["the", agent, "never", "left", "the", "house"]))
    label = kind if n_labels == 3 else min(kind, 1)
    return premise, " ".join(hypothesis) + " .", label


def _question_answer(rng: random.Random) -> _Row:
    """Does the sentence answer the question? It does when it tells the asked event with the
    asked role filled; it does not when the roles are swapped (hard) or it tells of the place
    alone (easy)."""
    event = _event(rng)
    agent, verb, patient, place = event
    label = rng.randrange(2)  # 0 entailment: the sentence answers the question
    question = rng.choice((f"who {verb} the {patient} ?", f"whom did the {agent} {ROLE_BASE[verb]} ?"))
    if label == 0:
        sentence = _say(event, passive=rng.random() < 0.5)
    elif rng.random() < 0.5:
        sentence = _say(_swapped(event), passive=rng.random() < 0.5)
    else:
        sentence = ["the", place, "was", rng.choice(SCENE_ADJECTIVES), "that", "day"]
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
    label_text = "" if test else task.label_text(label)
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
    predicted). Every split gets the same label noise, so that dev and test come from one
    distribution, as GLUE's (whose annotators disagree on dev and test alike). Beside the GLUE
    files, `truth/` holds what GLUE does not publish (`write_truth`).
    """
    task_dir = Path(glue_dir) / task.glue_dir
    task_dir.mkdir(parents=True, exist_ok=True)
    generate = _GENERATORS[task.name]
    truth: dict[str, list[str]] = {}
    for split in task.splits:
        rng = random.Random(f"{seed}/{task.name}/{split.name}")
        lines, labels, flipped = [], [], []
        header = _header(task, split)
        if header is not None:
            lines.append("\t".join(header))
        for i in range(sizes[split.name]):
            a, b, clean = generate(rng)
            label = _noisy(rng, task, clean, label_noise)
            if label != clean:
                flipped.append(f"{i}\t{task.label_text(clean)}\t{task.label_text(label)}")
            labels.append(f"{i}\t{task.label_text(label)}")
            fields = _file_line(task, split, i, rng, (a, b, label))
            if split.name == "train" and rng.random() < defect_rate:
                lines.append("\t".join(_defective(rng, fields, (a, b))))
            lines.append("\t".join(fields))
        # MRPC's real train and dev files begin with a byte-order mark.
        bom = "\ufeff" if task.name == "mrpc" and not split.is_test else ""
        (task_dir / split.filename).write_text(bom + "\n".join(lines) + "\n", encoding="utf-8")
        if split.is_test:
            truth[f"{split.name}.tsv"] = ["index\tlabel", *labels]
        truth[f"flipped_{split.name}.tsv"] = ["idx\tclean_label\tlabel", *flipped]
    write_truth(task_dir / TRUTH_DIR, truth)
    return task_dir


def write_truth(directory: Path, files: dict[str, list[str]]) -> None:
    """What the generator knows and GLUE keeps to itself, outside the GLUE files:

    - `SPLIT.tsv` for each test split: `index`, `label`, the test file's labels (the server's
      spelling), with which `python -m stages score-submission` scores a zip;
    - `flipped_SPLIT.tsv` for every split: `idx` (the row's position among the split's good
      rows: the normalised examples' idx), `clean_label`, and the `label` the noise wrote.
    """
    directory.mkdir(exist_ok=True)
    for name, rows in files.items():
        (directory / name).write_text("\n".join(rows) + "\n", encoding="utf-8")


def split_sizes(task: Task, *, real_sizes: bool, train_rows: int, dev_rows: int, test_rows: int) -> dict[str, int]:
    """Rows per split: the real GLUE counts, or the small demo sizes."""
    if real_sizes:
        return dict(task.real_sizes)
    by_kind = {"train": train_rows, "dev": dev_rows, "test": test_rows}
    return {split.name: by_kind[split.name.split("_")[0]] for split in task.splits}
