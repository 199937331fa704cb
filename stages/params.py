"""Stage `params`: the whole of params.yaml checked before any other stage removes an output.

    python -m stages.params

Every stage depends on this one's output, so DVC runs it first whenever params.yaml changes,
and stops there when it fails: a typo in a key, a value out of range, or a source that cannot
be used (the hub, a GLUE directory, a model directory) costs no output. Every problem is
reported, one a line. Writes data/params-checked.txt, whose content never changes, so that a
change of params reruns only the stages that read the keys that changed; it is written only
when the check passes, and DVC keeps it while the stage runs (`persist` in dvc.yaml), so that a
refused change leaves every other stage as it was. `python -m stages check` runs the same
check on a `dvc exp run -S` composition before DVC writes it.
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
    from pipeline.preflight import require_sources
    from pipeline.settings.params import load_params

    params = load_params(params_file)
    require_sources(params)
    write_text(PARAMS_CHECKED, "params.yaml and the sources it names were checked\n")
    log.info("%s: valid; methods %s on %s", params_file, ", ".join(params.methods.all()), ", ".join(params.tasks))


if __name__ == "__main__":
    run_main(main)
