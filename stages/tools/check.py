"""`check`: what the `params` stage would say of params.yaml, or of a `dvc exp run -S` change,
before DVC runs anything.

    python -m stages check                                  # params.yaml as it is (`dvc repro`)
    python -m stages check -S train.learning_rate=1e-3      # what `dvc exp run -S ...` would run
    python -m stages check -S preset=paper -S seed=3

With -S, params.yaml is composed in memory from conf/ and the overrides, as `dvc exp run -S`
composes it, and checked as the `params` stage checks it: every problem, one a line, exit
status 2. Nothing is written. Where DVC's composition would stop on a key that conf/ does not
have ("Could not override ... use +KEY"), the key is set anyway, so that the check names the
keys allowed there; and a `+KEY` that DVC would write into params.yaml, for the `params`
stage to refuse after, is refused here with params.yaml untouched.
"""

from __future__ import annotations

from pathlib import Path

import typer

from stages.command import PARAMS_OPTION, run_main


def as_set_anyway(override: str, conf_dir: Path) -> str:
    """The Hydra override that sets KEY whether or not conf/ has it (`++KEY=VALUE`); a config
    group's choice (`preset=paper`) and a deletion (`~KEY`) stay as they are."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from pipeline.errors import InputError

    parsed = OverridesParser.create().parse_override(override)
    if parsed.is_sweep_override():
        raise InputError(f"-S {override}: a sweep runs one experiment per value; check one value at a time")
    if parsed.is_delete() or (conf_dir / parsed.key_or_group).is_dir():
        return override
    return "++" + override.lstrip("+")


def composed_params(overrides: list[str], conf_dir: Path) -> dict:
    """params.yaml as `dvc exp run -S OVERRIDES` would write it, read back as the stage reads it."""
    import yaml
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from pipeline.errors import InputError
    from pipeline.settings.params import compose

    try:
        composed = compose(*(as_set_anyway(override, conf_dir) for override in overrides), conf_dir=conf_dir)
    except (HydraException, OmegaConfBaseException) as error:
        # Hydra's message runs over lines, down to its search path, which says nothing here.
        lines = [line.strip() for line in str(error).split("Config search path")[0].splitlines() if line.strip()]
        gist = "; ".join(lines).replace(":; ", ": ")
        raise InputError(f"-S {' -S '.join(overrides)}: {gist}") from None
    # DVC writes the composition with OmegaConf's YAML; the stage reads that file with PyYAML.
    return yaml.safe_load(OmegaConf.to_yaml(OmegaConf.create(composed)))


def main(
    overrides: list[str] | None = typer.Option(None, "--set-param", "-S", metavar="KEY=VALUE",
                                               help="A `dvc exp run -S` override (repeatable)."),
    params_file: Path = PARAMS_OPTION,
) -> None:
    """Check params.yaml, or what `dvc exp run -S ...` would write there, as the params stage
    does; write nothing."""
    from pipeline.preflight import require_sources
    from pipeline.settings.params import read_params_file, validate_params

    if overrides:
        # DVC's Hydra composition reads conf/ at the repository root, beside params.yaml.
        data = composed_params(overrides, params_file.resolve().parent / "conf")
    else:
        data = read_params_file(params_file)
    params = validate_params(data, str(params_file))
    require_sources(params)  # what the params stage checks after the keys, in its words
    what = f"{params_file} with -S {' -S '.join(overrides)}" if overrides else str(params_file)
    typer.echo(f"{what}: valid; methods {', '.join(params.methods.all())} on {', '.join(params.tasks)}")


if __name__ == "__main__":
    run_main(main)
