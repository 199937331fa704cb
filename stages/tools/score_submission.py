"""`score-submission`: score a benchmark-server zip as the GLUE server would, on the synthetic GLUE.

    python -m stages score-submission submissions/lgtm.zip [--glue-data data/glue] [--json OUT]

Reads the true test labels the synthetic download writes (data/glue/TASK/truth/SPLIT.tsv),
prints each scored file's metrics and the GLUE score (x 100, as the leaderboard shows them) and,
with --json, writes them as fractions (pipeline/reporting/server_score.py). Files without true
labels are listed as unscored; a real GLUE download has none, and that is an error here.
"""

from __future__ import annotations

from pathlib import Path

import typer

from stages.command import run_main
from stages.paths import GLUE_ROOT


def main(
    zip_path: Path = typer.Argument(..., metavar="ZIP", help="A benchmark-server zip (submissions/METHOD.zip)."),
    glue_data: Path = typer.Option(GLUE_ROOT, "--glue-data", help="The normalised GLUE data, with truth/ per task."),
    json_out: Path = typer.Option(None, "--json", help="Also write the scores (fractions) to this JSON file."),
) -> None:
    """Score a submission zip against the synthetic GLUE's true test labels."""
    from pipeline.atomic import write_json
    from pipeline.errors import InputError
    from pipeline.reporting.results_table import METRIC_LABELS
    from pipeline.reporting.server_score import score_submission

    result = score_submission(zip_path, glue_data)
    if not result["scores"]:
        raise InputError(f"{glue_data}: no true test labels (TASK/truth/SPLIT.tsv) for any file of {zip_path}; "
                         "only the synthetic GLUE has them")
    width = max(len(name) for name in result["scores"])
    lines = [f"{'file':<{width}}  {'metric':<8}  {'score':>5}"]
    for name, metrics in result["scores"].items():
        lines += [f"{name:<{width}}  {METRIC_LABELS[metric]:<8}  {100 * score:5.1f}" for metric, score in metrics.items()]
    if result["unscored"]:
        lines.append(f"unscored (no true labels): {', '.join(result['unscored'])}")
    if result["glue_score"] is not None:
        lines.append(f"GLUE score: {100 * result['glue_score']:.1f} "
                     f"(mean of {', '.join(result['glue_score_tasks'])}; AX left out)")
    typer.echo("\n".join(lines))
    if json_out is not None:
        write_json(json_out, result)


if __name__ == "__main__":
    run_main(main)
