"""What the teacher prioritizes: the report of a LGTM run's per-sample distillation influence.

Reads runs/lgtm/TASK/influence.parquet (pipeline/distill/sample_influence.py's rows, one per logged
sample, with the step) and writes reports/influence/TASK.md and TASK.png: the influence over
training (the logged steps in early, middle and late thirds), against the teacher-student KL and
the student's loss, flipped labels against clean ones where the synthetic generator recorded
which it flipped (data/glue/TASK/truth/flipped_train.tsv), and the most and least influential
training examples with their text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipeline.atomic import atomic_path, write_text
from pipeline.errors import InputError
from pipeline.glue.normalized import read_split, split_path
from pipeline.glue.synthetic import TRUTH_DIR
from pipeline.glue.tasks import Task

PHASES = ("early", "middle", "late")
EXTREMES = 20  # the most and the least influential rows listed
TEXT_WIDTH = 90  # characters of each text shown in the lists


def read_influence(path: Path):
    """The rows of one run, as a pandas DataFrame."""
    import pandas as pd

    if not path.is_file():
        raise InputError(f"{path}: no influence rows; run train@lgtm with lgtm.influence_every other than 0")
    frame = pd.read_parquet(path)
    if frame.empty:
        raise InputError(f"{path}: no rows; expected at least one logged LGTM step")
    return frame


def with_phase(frame):
    """`phase`: the logged steps in order, cut into three near-equal runs (early, middle, late);
    with fewer than three logged steps, the first ones only."""
    steps = np.sort(frame["step"].unique())
    phase_of = {int(step): PHASES[k] for k, part in enumerate(np.array_split(steps, len(PHASES))) for step in part}
    return frame.assign(phase=frame["step"].map(phase_of))


def flipped_rows(glue_task_dir: Path) -> set[int] | None:
    """The idx of the training rows whose label the synthetic generator flipped; None where
    there is no record of it (real GLUE has no truth/ directory)."""
    import pandas as pd

    path = Path(glue_task_dir) / TRUTH_DIR / "flipped_train.tsv"
    if not path.is_file():
        return None
    table = pd.read_csv(path, sep="\t")
    if "idx" not in table.columns:
        raise InputError(f"{path}: no `idx` column; expected the generator's idx, clean_label, label")
    return set(table["idx"].astype(int))


def training_texts(glue_task_dir: Path) -> dict[int, tuple[str, str | None]]:
    """{idx: (text_a, text_b)} of the task's normalised training split."""
    return {example["idx"]: (example["text_a"], example["text_b"])
            for example in read_split(split_path(glue_task_dir, "train"))}


def _spearman(frame, column: str) -> float:
    """Spearman's rank correlation of the influence with `column` (NaN without variation)."""
    valid = frame[["influence", column]].dropna()
    if len(valid) < 3 or valid[column].nunique() < 2:
        return float("nan")
    return float(valid["influence"].rank().corr(valid[column].rank()))


def _stats(values) -> dict[str, float]:
    return {"rows": len(values), "mean": float(values.mean()), "median": float(values.median()),
            "positive": float((values > 0).mean())}


def _describe(frame, by: str, order) -> list[str]:
    lines = [f"| {by} | rows | mean | median | positive | mean share |", "|---|---:|---:|---:|---:|---:|"]
    for key in order:
        part = frame[frame[by] == key]
        if len(part):
            s = _stats(part["influence"])
            lines.append(f"| {key} | {s['rows']} | {s['mean']:.3g} | {s['median']:.3g} | {s['positive']:.0%} "
                         f"| {part['share'].mean():.3g} |")
    return lines


def _cell(text: str | None) -> str:
    if text is None:
        return ""
    text = text if len(text) <= TEXT_WIDTH else text[:TEXT_WIDTH - 1] + "…"
    return text.replace("|", "\\|")


def _extremes(frame, task: Task, texts, flipped: set[int] | None, *, most: bool) -> list[str]:
    rows = frame.nlargest(EXTREMES, "influence") if most else frame.nsmallest(EXTREMES, "influence")
    header = "| step | idx | label | flipped | influence | share | text_a | text_b |"
    lines = [header, "|---:|---:|---|---|---:|---:|---|---|"] if flipped is not None else \
        [header.replace(" flipped |", ""), "|---:|---:|---|---:|---:|---|---|"]
    for row in rows.itertuples():
        text_a, text_b = texts.get(int(row.idx), ("(not in train.jsonl)", None))
        flag = f" {'yes' if int(row.idx) in flipped else ''} |" if flipped is not None else ""
        lines.append(f"| {row.step} | {row.idx} | {task.label_text(row.label)} |{flag} {row.influence:.3g} "
                     f"| {row.share:.3f} | {_cell(text_a)} | {_cell(text_b)} |")
    return lines


def markdown(task: Task, frame, texts, flipped: set[int] | None, figure_name: str) -> str:
    steps = np.sort(frame["step"].unique())
    lines = [
        f"# Per-sample distillation influence: {task.name}",
        "",
        f"LGTM's influence I_i = ∇θs ℓ_i · v of each sample of {len(steps)} logged steps "
        f"({steps[0]} to {steps[-1]}; {len(frame)} rows; docs/method.md, \"Per-sample influence\"): "
        "positive means that a student step on the sample lowers the student's held-out loss. "
        "`share` is the sample's weight in the teacher's update, I_i / Σ_j |I_j| over its batch.",
        "",
        f"![influence]({figure_name})",
        "",
        "## Over training",
        "",
        *_describe(frame, "phase", PHASES),
        "",
        "## Against disagreement and loss",
        "",
        f"Spearman's rank correlation of the influence with the teacher-student KL: "
        f"{_spearman(frame, 'teacher_student_kl'):.3f}; with the student's loss on the label: "
        f"{_spearman(frame, 'student_loss'):.3f}.",
        "",
        "## Flipped labels against clean ones",
        "",
    ]
    if flipped is None:
        lines.append("No record of flipped labels (data/glue/TASK/truth/flipped_train.tsv): real GLUE has none, "
                     "so this comparison is left out.")
    else:
        labelled = frame.assign(noise=np.where(frame["idx"].isin(flipped), "flipped", "clean"))
        lines += [*_describe(labelled, "noise", ("clean", "flipped")), "", "By phase (median influence):", "",
                  "| phase | clean | flipped |", "|---|---:|---:|"]
        for phase in PHASES:
            part = labelled[labelled["phase"] == phase]
            medians = part.groupby("noise")["influence"].median()
            if len(part):
                lines.append(f"| {phase} | {medians.get('clean', float('nan')):.3g} "
                             f"| {medians.get('flipped', float('nan')):.3g} |")
    lines += ["", f"## The {EXTREMES} most influential rows", "", *_extremes(frame, task, texts, flipped, most=True),
              "", f"## The {EXTREMES} least influential rows", "", *_extremes(frame, task, texts, flipped, most=False),
              ""]
    return "\n".join(lines)


def draw(task: Task, frame, flipped: set[int] | None, path: Path) -> None:
    """Four panels: influence by phase, against the KL, against the student's loss, and
    flipped against clean (or a note where there is no record)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 4, figsize=(18, 4.2))
    # Influence spans orders of magnitude, of both signs: linear within the median magnitude.
    linear_within = max(float(frame["influence"].abs().median()), 1e-12)
    by_phase = [frame.loc[frame["phase"] == phase, "influence"] for phase in PHASES]
    kept = [(phase, values) for phase, values in zip(PHASES, by_phase) if len(values)]
    axes[0].boxplot([values for _, values in kept], tick_labels=[phase for phase, _ in kept])
    axes[0].set_title("influence over training")
    for ax, column, title in ((axes[1], "teacher_student_kl", "KL(teacher ‖ student)"),
                              (axes[2], "student_loss", "student's loss on the label")):
        for phase in PHASES:
            part = frame[frame["phase"] == phase]
            ax.scatter(part[column], part["influence"], s=6, alpha=0.5, label=phase)
        ax.set_xlabel(title)
        ax.set_title(f"influence against {title}")
    axes[1].legend(title="phase", markerscale=2)
    if flipped is None:
        axes[3].text(0.5, 0.5, "no record of flipped labels\n(real GLUE)", ha="center", va="center")
        axes[3].set_axis_off()
    else:
        # Clean and flipped side by side in each phase: does the teacher learn to down-weight noise?
        noisy = frame["idx"].isin(flipped)
        groups = [(f"{phase}\n{kind} ({int(rows.sum())})", frame.loc[rows, "influence"])
                  for phase in PHASES for kind, rows in (("clean", ~noisy & (frame["phase"] == phase)),
                                                         ("flipped", noisy & (frame["phase"] == phase)))
                  if rows.any()]
        axes[3].boxplot([values for _, values in groups], tick_labels=[label for label, _ in groups])
        axes[3].tick_params(axis="x", labelsize=7)
        axes[3].set_title("flipped labels against clean ones")
    for ax in axes if flipped is not None else axes[:3]:
        ax.set_yscale("symlog", linthresh=linear_within)
        ax.set_ylabel("influence")
        ax.axhline(0.0, color="grey", linewidth=0.5)
    figure.suptitle(f"{task.name}: per-sample distillation influence ({len(frame)} rows)")
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(figure)


def write_report(task: Task, influence_path: Path, glue_task_dir: Path, out_dir: Path) -> dict[str, Path]:
    """reports/influence/TASK.md and TASK.png of one task; returns their paths."""
    frame = with_phase(read_influence(influence_path))
    flipped = flipped_rows(glue_task_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figure, report = out_dir / f"{task.name}.png", out_dir / f"{task.name}.md"
    draw(task, frame, flipped, figure)
    write_text(report, markdown(task, frame, training_texts(glue_task_dir), flipped, figure.name))
    return {"md": report, "png": figure}
