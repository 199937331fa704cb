"""Stage `params`: the whole of params.yaml checked before any other stage removes an output.

    python -m stages.params

Every stage depends on this one's output, so DVC runs it first whenever params.yaml changes,
and stops there when it fails: a typo in a key, a value out of range, or a source that cannot
be reached (the hub, a GLUE directory, a model) costs no output. Writes
data/params-checked.txt, whose content never changes, so that a change of params reruns only
the stages that read the keys that changed.
"""

from __future__ import annotations

import logging
from pathlib import Path

from stages.command import PARAMS_OPTION, run_main
from stages.paths import PARAMS_CHECKED

log = logging.getLogger("params")


def main(params_file: Path = PARAMS_OPTION) -> None:
    """Check params.yaml and the sources it names."""
    from pipeline.atomic import write_text
    from pipeline.glue.sources import check_source
    from pipeline.glue.tasks import get_task
    from pipeline.hub import require_model
    from pipeline.settings.params import load_params

    params = load_params(params_file)
    check_source(params.data.source, params.data.glue_dir, [get_task(name) for name in params.data.tasks],
                 hub_timeout_s=params.hub_timeout_s)
    for spec in (params.model.teacher, params.model.student):
        if not spec.is_tiny:
            require_model(spec.name, timeout_s=params.hub_timeout_s)
    write_text(PARAMS_CHECKED, "params.yaml and the sources it names were checked\n")
    log.info("%s: valid; methods %s on %s", params_file, ", ".join(params.methods.all()), ", ".join(params.tasks))


if __name__ == "__main__":
    run_main(main)
