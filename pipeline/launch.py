"""How a training stage starts its runs across processes, and what each process of a launch
does with the run's outputs.

With `launch.processes` > 1 (or an accelerate `launch.config_file`), a stage that is not
already inside a launch starts each task's run as its own `accelerate launch` of the same
stage module, one task after another: the processes of a launch share one process group,
which forked workers (pipeline/parallel.py) cannot. On GPUs there is a process per GPU (NCCL);
without, gloo processes on the CPU, each pinned to one thread like any stage
(stages/environment.py, applied again when the launched command starts).

Inside a launch every process trains, and only the main one writes: it opens the run's
temporary output directories (pipeline/atomic.py) and tells the others where they are, so
that every process can read back the kept student it saved.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from pipeline.atomic import atomic_path


def inside_launch(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether this process is one of a launch (torchrun and `accelerate launch` set LOCAL_RANK)."""
    return "LOCAL_RANK" in environ


def world_size(environ: Mapping[str, str] = os.environ) -> int:
    """The processes of this process's launch, on every machine (1 outside a launch)."""
    return int(environ.get("WORLD_SIZE", "1"))


def machines(environ: Mapping[str, str] = os.environ) -> int:
    """The machines of this process's launch: all its processes over those on this machine."""
    return world_size(environ) // int(environ.get("LOCAL_WORLD_SIZE", "1"))


def launches(processes: int, config_file: str | None) -> bool:
    """Whether a stage starts its runs under `accelerate launch` rather than in itself."""
    return processes > 1 or config_file is not None


def free_port() -> int:
    """A TCP port free on this machine now, for a single-machine launch's rendezvous (two
    stages launched at once would both take accelerate's default 29500)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch_command(module: str, arguments: list[str], *, processes: int, config_file: str | None,
                   mixed_precision: str, gpus: int, port: int) -> list[str]:
    """`accelerate launch` (this interpreter's) of `python -m module arguments`.

    With a config file, the file decides the machines, processes and rendezvous (multi-node:
    docs/parallel.md, "Several machines"). Otherwise one machine, `processes` processes: one per GPU where
    there are `gpus`, else on the CPU (Accelerate's multi-GPU launcher is torchrun; the
    training loop asks for the CPU, so the processes join with gloo).
    """
    if config_file is not None:
        options = ["--config_file", config_file]
    else:
        options = ["--multi_gpu", "--num_processes", str(processes), "--num_machines", "1",
                   "--main_process_ip", "127.0.0.1", "--main_process_port", str(port),
                   "--mixed_precision", mixed_precision, "--dynamo_backend", "no"]
        if gpus:
            options += ["--gpu_ids", ",".join(str(index) for index in range(processes))]
    return [sys.executable, "-m", "accelerate.commands.launch", *options, "-m", module, *arguments]


def uses_cpu() -> bool:
    """Train on the CPU where no GPU is visible (also what makes Accelerate join a launch's
    processes with gloo rather than leave each alone)."""
    import torch

    return not torch.cuda.is_available()


def process_state():
    """Accelerate's state of this process (its rank among the launch's; the process group is
    joined here, once per process)."""
    from accelerate import PartialState

    return PartialState(cpu=uses_cpu())


def leave_launch() -> None:
    """This process's last word in a launch: wait for the others, then leave the process group.
    A process that exits with its group alive can abort in gloo's teardown (SIGABRT,
    "terminate called without an active exception"), failing a launch whose runs all finished."""
    state = process_state()
    state.wait_for_everyone()
    state.destroy_process_group()


@contextmanager
def main_writes(path: Path | None, state) -> Iterator[Path | None]:
    """`atomic_path(path)` opened by the launch's main process, the same temporary path on
    every process: the others write nothing there, but read what the main one wrote. None
    stays None (an output this run does not have)."""
    if path is None:
        yield None
        return
    if state.num_processes == 1:
        with atomic_path(path) as tmp:
            yield tmp
        return
    from accelerate.utils import broadcast_object_list

    if state.is_main_process:
        with atomic_path(path) as tmp:
            broadcast_object_list([tmp])
            yield tmp
    else:
        yield broadcast_object_list([None])[0]
