"""Runs that are never lost: resumable from their last checkpoint, reusable once finished.

checkpoints/RUN/TASK/ (not a DVC output: DVC deletes a stage's outputs before running it, and
a `persist` output would take the stage out of DVC's run-cache) holds:
    latest/     the whole training state of an unfinished run, every `launch.checkpoint_steps`
                steps: Accelerate's save_state (models, optimizers, schedulers, RNG states) in
                state/, progress.json (the step, where both data iterators are, the run's
                record so far, its fingerprint), the best student so far in best/, the
                DVCLive logs so far in live/, and the run's extra outputs so far (its spec's:
                anchors/, RCO's; samples/, a step's per-sample rows such as LGTM's influence)
    finished/   the last finished run: run/, live/ and its extra output directories (anchors/),
                as the stage wrote them (hard links), and its fingerprint

Both are written beside and renamed into place, so a kill at any moment leaves the previous
version or the new one. A rerun resumes from `latest/` only if the fingerprint is the same,
and otherwise starts afresh; a stage copies a task's `finished/` run instead of training it
again if the fingerprint is the same: a stage trains every task of `tasks`, and adding one must
not retrain the others.

The fingerprint is what a run's result depends on: the params it reads, the bytes of its
input files, the source files of the training stages (exactly their code deps in dvc.yaml,
both read from the import closure by pipeline/source_closure.py: an edit to a report or to the
download retrains nothing), the versions of the libraries that compute, and the CPU kernels
pinned for the process (stages/environment.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from pipeline.atomic import previous_version, replace
from pipeline.results.summary import RunSummary
from pipeline.source_closure import REPO, training_code

log = logging.getLogger("checkpoints")
_CHUNK = 1 << 20


@dataclass
class Progress:
    step: int  # steps completed
    train_position: tuple[int, int]  # (epoch, batches of it consumed)
    held_position: tuple[int, int] | None  # the held-out iterator's, for LGTM
    summary: RunSummary  # the run's record so far
    fingerprint: str


LIBRARIES = ("torch", "transformers", "accelerate", "datasets", "tokenizers", "safetensors")
KERNEL_SETTINGS = ("LGTM_NATIVE_CPU", "ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR", "OMP_NUM_THREADS",
                   "MKL_NUM_THREADS")


def _add_files(digest, roots: list[Path], named_from: Path | None = None) -> None:
    """Each file's name (relative to `named_from`, or to the directory given) and bytes."""
    for root in map(Path, roots):
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in files:
            name = path.relative_to(named_from or (root if root.is_dir() else root.parent))
            digest.update(str(name).encode())
            with open(path, "rb") as data:
                while chunk := data.read(_CHUNK):
                    digest.update(chunk)


def fingerprint(settings: dict, inputs: list[Path]) -> str:
    """A digest of what a run's result depends on: its settings, its input files' bytes, the
    training stages' code, the computing libraries' versions and the CPU kernel settings."""
    from importlib.metadata import version

    environment = {"libraries": {name: version(name) for name in LIBRARIES},
                   "kernels": {name: os.environ.get(name) for name in KERNEL_SETTINGS}}
    digest = hashlib.sha256(json.dumps([settings, environment], sort_keys=True, default=str).encode())
    _add_files(digest, inputs)
    _add_files(digest, training_code(), named_from=REPO)
    return digest.hexdigest()


def _copy_dir(source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    if source.exists():
        shutil.copytree(source, target)


def _link_dir(source: Path, target: Path) -> None:
    """A copy of `source` made of hard links (no file is ever changed in place here)."""
    shutil.copytree(source, target, copy_function=os.link)


@dataclass(frozen=True)
class ExtraOutput:
    """An output a run writes as it trains, beside its best model and its logs (a spec's
    anchors, a step's per-sample rows): carried in each checkpoint as NAME/, and, when it is a
    directory of its own, kept with the finished run as NAME/ too."""

    name: str  # its entry in checkpoints/RUN/TASK/latest/ (and finished/)
    path: Path  # where the run writes it (a temporary directory until the run completes)
    is_file: bool = False  # one file (held as NAME/FILE) rather than a directory


def _save_extra(extra: ExtraOutput, saved: Path) -> None:
    if not extra.is_file:
        _copy_dir(extra.path, saved)
    elif extra.path.is_file():
        saved.mkdir()
        shutil.copyfile(extra.path, saved / extra.path.name)


def _restore_extra(extra: ExtraOutput, saved: Path) -> None:
    if not extra.is_file:
        _copy_dir(saved, extra.path)
    elif (file := saved / extra.path.name).is_file():
        shutil.copyfile(file, extra.path)


class FinishedRuns:
    """checkpoints/RUN/TASK/finished/: the last finished run, to copy instead of training again."""

    def __init__(self, directory: Path):
        self.finished = Path(directory) / "finished"

    def find(self, run_fingerprint: str) -> Path | None:
        """The finished run of this fingerprint, if it is the one kept."""
        path = self.finished / "fingerprint"
        return self.finished if path.is_file() and path.read_text() == run_fingerprint else None

    def restore(self, run_dir: Path, live_dir: Path, extras: list[ExtraOutput] = ()) -> None:
        """Copy the kept run into `run_dir`, `live_dir` and its extra output directories (new)."""
        _link_dir(self.finished / "run", run_dir)
        _link_dir(self.finished / "live", live_dir)
        for extra in extras:
            _link_dir(self.finished / extra.name, extra.path)

    def keep(self, run_dir: Path, live_dir: Path, run_fingerprint: str, extras: list[ExtraOutput] = ()) -> None:
        """Keep a finished run and its extra output directories (replacing the run kept before)."""
        self.finished.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.finished.parent / ".finished.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir()
        _link_dir(run_dir, tmp / "run")
        _link_dir(live_dir, tmp / "live")
        for extra in extras:
            _link_dir(extra.path, tmp / extra.name)
        (tmp / "fingerprint").write_text(run_fingerprint)
        replace(tmp, self.finished)


class Checkpoints:
    def __init__(self, directory: Path, run_fingerprint: str, accelerator):
        self.directory = Path(directory)
        self.fingerprint = run_fingerprint
        self.accelerator = accelerator
        self.latest = self.directory / "latest"

    def _recover(self) -> None:
        """A kill between the two renames of `replace` leaves the last checkpoint aside."""
        old = previous_version(self.latest)
        if old.exists():
            if self.latest.exists():
                shutil.rmtree(old)
            else:
                os.replace(old, self.latest)

    def find(self) -> Progress | None:
        """The last checkpoint's progress if it belongs to this run's inputs; else none (and
        a checkpoint of other inputs is removed)."""
        if self.accelerator.is_main_process:
            self._recover()
        self.accelerator.wait_for_everyone()
        path = self.latest / "progress.json"
        if not path.is_file():
            return None
        record = json.loads(path.read_text())
        if record["fingerprint"] != self.fingerprint:
            log.info("%s was written for other params or inputs; starting afresh", self.latest)
            self.accelerator.wait_for_everyone()
            if self.accelerator.is_main_process:
                self.clear()
            return None
        record["summary"] = RunSummary(**record["summary"])
        record["train_position"] = tuple(record["train_position"])
        if record["held_position"] is not None:
            record["held_position"] = tuple(record["held_position"])
        return Progress(**record)

    def restore(self, model_dir: Path, live_dir: Path, extras: list[ExtraOutput] = ()) -> None:
        """Models, optimizers, schedulers and RNG states as saved; the best student, the logs
        and the extra outputs so far into the run's (new) temporary directories."""
        self.accelerator.load_state(str(self.latest / "state"))
        if self.accelerator.is_main_process:
            _copy_dir(self.latest / "best", model_dir)
            _copy_dir(self.latest / "live", live_dir)
            for extra in extras:
                _restore_extra(extra, self.latest / extra.name)
        self.accelerator.wait_for_everyone()

    def save(self, progress: Progress, model_dir: Path, live_dir: Path, extras: list[ExtraOutput] = ()) -> None:
        tmp = self.directory / ".latest.tmp"
        if self.accelerator.is_main_process and tmp.exists():
            shutil.rmtree(tmp)
        self.accelerator.wait_for_everyone()
        self.accelerator.save_state(str(tmp / "state"))  # every process writes its own RNG state
        self.accelerator.wait_for_everyone()  # all written before the main process renames them in
        if self.accelerator.is_main_process:
            _copy_dir(model_dir, tmp / "best")
            _copy_dir(live_dir, tmp / "live")
            for extra in extras:
                _save_extra(extra, tmp / extra.name)
            (tmp / "progress.json").write_text(json.dumps(asdict(progress), indent=2) + "\n")
            replace(tmp, self.latest)
        self.accelerator.wait_for_everyone()

    def clear(self) -> None:
        remove_unfinished(self.directory)


def remove_unfinished(directory: Path) -> None:
    """Remove an unfinished run's checkpoint (a finished run kept beside stays)."""
    latest = Path(directory) / "latest"
    for path in (latest, Path(directory) / ".latest.tmp", previous_version(latest)):
        shutil.rmtree(path, ignore_errors=True)
