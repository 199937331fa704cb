"""The comparison grid `make compare` runs: one DVC experiment per point, and which are done.

A point is a seed, a student learning rate, a held-out source and an LGTM mode, on top of a
preset (`compare`'s grid is in its params: `compare.seeds`, ...). Its experiment is
`dvc exp run -S preset=P -S seed=S -S train.learning_rate=LR -S held_out.source=H -S lgtm.mode=M`:
DVC composes the params from conf/, and its run-cache restores every stage whose params,
code and inputs it has run before. So the `fast` point of a seed and rate retrains LGTM alone,
and the teacher fine-tuned alone trains once per seed and held-out source, whatever the rate.

A point is done when a finished experiment of the repository has exactly its composed params:
a grid killed half way, or extended, runs only what is missing.

On a machine with several GPUs the points go through DVC's queue, a worker per GPU
(`dvc queue start -j N`); every stage process of an experiment takes a GPU that no other holds
(stages/environment.py `claim_device`, over the GPUs named in LGTM_DEVICES), so each
experiment trains on a device of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import product


@dataclass(frozen=True)
class GridPoint:
    seed: int
    learning_rate: float
    held_out: str
    lgtm_mode: str

    def overrides(self, preset: str) -> list[str]:
        """The `-S` values of its experiment (hydra overrides)."""
        return [f"preset={preset}", f"seed={self.seed}", f"train.learning_rate={self.learning_rate!r}",
                f"held_out.source={self.held_out}", f"lgtm.mode={self.lgtm_mode}"]

    def __str__(self) -> str:
        return (f"held_out={self.held_out} seed={self.seed} lr={self.learning_rate:g} "
                f"lgtm.mode={self.lgtm_mode}")


def grid(seeds: Iterable[int], learning_rates: Iterable[float], held_out: Iterable[str],
         lgtm_modes: Iterable[str]) -> list[GridPoint]:
    """Every point, in the order that gives a usable table soonest: held-out sources, then
    rates, then seeds (two seeds of one rate already give mean ± std and the paired tests);
    each seed's LGTM modes together (the second retrains LGTM alone)."""
    return [GridPoint(seed, rate, source, mode)
            for source, rate, seed, mode in product(held_out, learning_rates, seeds, lgtm_modes)]


def restricted(points: list[GridPoint], *, seeds: Iterable[int] = (), learning_rates: Iterable[float] = (),
               held_out: Iterable[str] = (), lgtm_modes: Iterable[str] = ()) -> list[GridPoint]:
    """The points whose every coordinate is among those given (an empty choice keeps them all):
    part of a grid, e.g. the `train_slice` half at one rate, without a preset of its own (the
    paper table groups runs by preset)."""
    chosen = [set(seeds), set(learning_rates), set(held_out), set(lgtm_modes)]
    return [point for point in points
            if all(not keep or value in keep for keep, value in
                   zip(chosen, (point.seed, point.learning_rate, point.held_out, point.lgtm_mode)))]


def run_params(params: dict) -> dict:
    """What an experiment's runs read of its params: all but the grid itself (`compare`, which no
    stage reads), so that a grid extended by a rate or a seed keeps the points it already ran."""
    return {key: value for key, value in params.items() if key != "compare"}


def pending(points: list[GridPoint], composed: Callable[[GridPoint], dict],
            finished: Iterable[dict]) -> list[GridPoint]:
    """The points no finished experiment has run: none has their composed params (the grid's
    own section aside)."""
    done = [run_params(params) for params in finished]
    return [point for point in points if run_params(composed(point)) not in done]


UNFINISHED = ("Queued", "Preparing", "Running")  # the states of `dvc queue status` still to end


def gpu_ids(cuda_visible: str | None, count: int) -> list[str]:
    """The GPUs to fan the grid out over: those CUDA_VISIBLE_DEVICES names if it is set, else
    all `count` the machine has."""
    if cuda_visible is not None:
        return [device.strip() for device in cuda_visible.split(",") if device.strip()]
    return [str(index) for index in range(count)]


def unfinished(queue_status: str) -> int:
    """How many tasks `dvc queue status` lists as queued or running (its table's last column;
    `dvc exp show` is no way to ask: it fails while a worker sets up an experiment's copy)."""
    return sum(1 for line in queue_status.splitlines() if line.split()[-1:] and line.split()[-1] in UNFINISHED)
