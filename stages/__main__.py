"""`python -m stages` (or `lgtm` in the venv): every stage and tool as a subcommand.

DVC runs each stage's own module (`python -m stages.evaluate`; the training stages share
stages/training.py: `python -m stages.training distill --method kd`), which imports only what
that stage needs; this command line gathers them all for people.
"""

from __future__ import annotations

import typer

from stages import (
    download,
    evaluate,
    influence,
    params,
    plots,
    pretrained,
    table,
    tokenize,
    training,
)
from stages.command import run
from stages.tools import (
    bench,
    check,
    clean,
    compare,
    deps,
    experiments,
    paper_table,
    plots_template,
    predict,
    scale,
    score_submission,
)

app = typer.Typer(
    name="lgtm",
    help="LGTM (Learning Good Teacher Matters) as DVC stages. Run from the repository root.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
# In dvc.yaml's order.
for name, module in (("params", params), ("download", download), ("pretrained", pretrained), ("tokenize", tokenize)):
    app.command(name, rich_help_panel="DVC stages")(module.main)
training.add_commands(app, rich_help_panel="DVC stages")  # finetune-teacher, train, distill, ...: stages/training.py
for name, module in (("evaluate", evaluate), ("table", table), ("plots", plots), ("influence", influence)):
    app.command(name, rich_help_panel="DVC stages")(module.main)
for name, module in (("check", check), ("predict", predict), ("clean", clean), ("plots-template", plots_template),
                     ("bench", bench), ("scale", scale), ("compare", compare), ("experiments", experiments),
                     ("paper-table", paper_table), ("score-submission", score_submission), ("deps", deps)):
    app.command(name, rich_help_panel="Tools (not stages)")(module.main)


def main() -> None:
    run(app)


if __name__ == "__main__":
    main()
