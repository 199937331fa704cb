"""`bench`: step time and peak memory of the training methods (a benchmark, not a DVC stage).

    LGTM_NATIVE_CPU=1 python -m stages bench                 # 6-layer/384 teacher, 2-layer student, 16 x 64
    python -m stages bench --device cuda --precision bf16 --hidden 768 --heads 12 \\
        --intermediate 3072 --teacher-layers 12 --student-layers 6 --batch-size 32 --seq-len 128

Prints one JSON line: `<method>_step_s` (median), `<method>_over_kd`, `<method>_examples_per_s`
and `<method>_peak_mb` (peak RSS of a process running only that method, or CUDA max allocated)
for every method (lgtm: the default, faithful mode), lgtm_fast, lgtm_influence (lgtm on a step
that logs every sample's influence) and lgtm_authors (the authors' computation as their code
does it, reference/lgtm_authors.py); `lgtm_over_authors`, the default step against theirs (the
same update),
`lgtm_over_metadistil`, against the meta-distillation the paper says LGTM is cheaper than, and
`influence_logging_overhead`, what logging the influence adds to a logged step (a fraction of
lgtm's step), with `influence_logging_overhead_amortized`, that over `--influence-every` steps.
Like every stage command it runs the portable CPU kernels unless LGTM_NATIVE_CPU=1 (the
machine's own: what speed figures mean); `cpu_kernels` in the JSON says which.
"""

from __future__ import annotations

import typer

from stages.command import run_main


def main(
    teacher_layers: int = typer.Option(6),
    student_layers: int = typer.Option(2),
    hidden: int = typer.Option(384),
    heads: int = typer.Option(6),
    intermediate: int = typer.Option(1536),
    vocab: int = typer.Option(30522, help="BERT's vocabulary size."),
    batch_size: int = typer.Option(16),
    seq_len: int = typer.Option(64),
    threads: int = typer.Option(2, help="torch intra-op threads."),
    device: str = typer.Option("cpu", help="cpu or cuda."),
    precision: str = typer.Option("no", help="no, bf16 or fp16 (Accelerate mixed precision)."),
    warmup: int = typer.Option(3, help="Untimed steps per method first."),
    repeats: int = typer.Option(10, help="Timed steps per method, interleaved."),
    methods: str = typer.Option("all", help="Comma-separated method names (kd, pkd, ..., lgtm, lgtm-fast, "
                                            "lgtm-influence, lgtm-authors), or all."),
    memory: bool = typer.Option(True, help="Also measure peak memory, one subprocess per method."),
    influence_every: int = typer.Option(25, min=1, help="Steps per logged step, to amortize the influence logging "
                                                        "over (the demo's eval_steps: lgtm.influence_every's default)."),
) -> None:
    """Time the methods' training steps and print one JSON line."""
    import json

    from benchmarks.step_time import METHODS, Shape, run
    from pipeline.errors import InputError

    chosen = METHODS if methods == "all" else tuple(name.strip() for name in methods.split(",") if name.strip())
    unknown = [name for name in chosen if name not in METHODS]
    if unknown or not chosen:
        raise InputError(f"--methods: unknown {', '.join(unknown) or '(none given)'}; expected some of: {', '.join(METHODS)}")
    if device not in ("cpu", "cuda"):
        raise InputError(f"--device: expected cpu or cuda, got {device!r}")
    if precision not in ("no", "bf16", "fp16"):
        raise InputError(f"--precision: expected no, bf16 or fp16, got {precision!r}")
    shape = Shape(teacher_layers, student_layers, hidden, heads, intermediate, vocab, batch_size, seq_len)
    typer.echo(json.dumps(run(shape, methods=chosen, precision=precision, device=device, threads=threads,
                              warmup=warmup, repeats=repeats, memory=memory, influence_every=influence_every)))


if __name__ == "__main__":
    run_main(main)
