"""What the `params` stage checks beyond the keys themselves: that every source params names can
be used (the GLUE data source, each model directory, installed package or hub id), reported all at once.

Shared by the stage and by `python -m stages check`, which must say exactly what the stage
would say; imports no model library (the check must take a second, not ten).
"""

from __future__ import annotations

from pipeline.errors import InputError
from pipeline.glue.sources import check_source
from pipeline.glue.tasks import get_task
from pipeline.hub import model_problems
from pipeline.models.packaged import resolve_model_name
from pipeline.settings.params import Params


def source_problems(params: Params) -> list[str]:
    """One line per source that cannot be used: the data source first, then each model key."""
    problems, resolved = [], {}
    for key, name in params.model.checkpoint_names().items():
        try:  # `package:NAME` is the directory that package installed
            resolved[key] = resolve_model_name(name)
        except InputError as error:
            problems.append(f"{key}: {error}")
    problems += model_problems(resolved, timeout_s=params.hub_timeout_s)
    try:
        check_source(params.data.source, params.data.glue_dir, [get_task(name) for name in params.data.tasks],
                     hub_timeout_s=params.hub_timeout_s)
    except InputError as error:
        problems.insert(0, str(error))
    return problems


def require_sources(params: Params) -> None:
    """Return if every source params names can be used, else raise every problem, one a line."""
    if problems := source_problems(params):
        raise InputError("\n".join(problems))
