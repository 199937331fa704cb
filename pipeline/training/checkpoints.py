"""Resumable runs: the whole training state every `train.checkpoint_steps` steps.

checkpoints/TASK/RUN/latest/ holds the last checkpoint of an unfinished run:
    state/          Accelerate's save_state: models, optimizers, schedulers, RNG states
    progress.json   the step, where both data iterators are, the best-so-far record, and
                    the fingerprint of the run's inputs
    best/           the best student so far (what becomes the run's model/)
    live/           the DVCLive logs up to that step

It is written beside as `.latest.tmp`, then renamed into place, so a kill at any moment
leaves the previous checkpoint or the new one. A rerun resumes from it only if the
fingerprint (the params the run reads and the content of its input files) is the same;
otherwise it starts afresh. A run that completes removes it.

The directory is not a DVC output: DVC deletes a stage's outputs before running it, and a
`persist` output would take the stage out of DVC's run-cache, which restores a finished
experiment's results instead of training again.
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
from pipeline.reporting.summary import RunSummary

log = logging.getLogger("checkpoints")
_CHUNK = 1 << 20


@dataclass
class Progress:
    step: int  # steps completed
    train_position: tuple[int, int]  # (epoch, batches of it consumed)
    held_position: tuple[int, int] | None  # the held-out iterator's, for LGTM
    summary: RunSummary  # the run's record so far
    fingerprint: str


def fingerprint(settings: dict, inputs: list[Path]) -> str:
    """A digest of what a run's result depends on: its settings and its input files' bytes."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    for root in inputs:
        files = sorted(path for path in Path(root).rglob("*") if path.is_file()) if Path(root).is_dir() else [Path(root)]
        for path in files:
            digest.update(str(path.relative_to(root) if Path(root).is_dir() else path.name).encode())
            with open(path, "rb") as data:
                while chunk := data.read(_CHUNK):
                    digest.update(chunk)
    return digest.hexdigest()


def _copy_dir(source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    if source.exists():
        shutil.copytree(source, target)


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

    def restore(self, model_dir: Path, live_dir: Path) -> None:
        """Models, optimizers, schedulers and RNG states as saved; the best student and the
        logs so far into the run's (new) temporary directories."""
        self.accelerator.load_state(str(self.latest / "state"))
        if self.accelerator.is_main_process:
            _copy_dir(self.latest / "best", model_dir)
            _copy_dir(self.latest / "live", live_dir)
        self.accelerator.wait_for_everyone()

    def save(self, progress: Progress, model_dir: Path, live_dir: Path) -> None:
        tmp = self.directory / ".latest.tmp"
        if self.accelerator.is_main_process and tmp.exists():
            shutil.rmtree(tmp)
        self.accelerator.wait_for_everyone()
        self.accelerator.save_state(str(tmp / "state"))  # every process writes its own RNG state
        if self.accelerator.is_main_process:
            _copy_dir(model_dir, tmp / "best")
            _copy_dir(live_dir, tmp / "live")
            (tmp / "progress.json").write_text(json.dumps(asdict(progress), indent=2) + "\n")
            replace(tmp, self.latest)
        self.accelerator.wait_for_everyone()

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
