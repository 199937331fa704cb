"""The dataset and model hub, behind a fail-fast reachability check.

`datasets` and `transformers` retry an unreachable hub for 25 to 50 seconds before failing
(measured here), and a firewall that drops packets can make them hang far longer. One probe
with a hard timeout first turns that into a prompt, one-line error that names the offline
alternative. Local model directories are checked here too, from their files: a model
name is either.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pipeline.errors import InputError


def offline_mode() -> bool:
    """True when the user asked the Hugging Face libraries to use only their local cache."""
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")


def require_hub(repo_id: str, *, repo_type: str, timeout_s: float, alternative: str) -> None:
    """Return if `repo_id` can be reached within `timeout_s`, else raise an InputError.

    In offline mode nothing is probed: the libraries then read their cache and say
    themselves when something is not there.
    """
    if offline_mode():
        return
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RepositoryNotFoundError

    info = HfApi().dataset_info if repo_type == "dataset" else HfApi().model_info
    try:
        info(repo_id, timeout=timeout_s)
    except RepositoryNotFoundError:
        raise InputError(f"{repo_type} {repo_id!r} does not exist on the hub (or needs a token); {alternative}") from None
    except Exception as error:  # any transport failure: DNS, refused, timeout, proxy
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
        raise InputError(
            f"the hub ({endpoint}) is unreachable within {timeout_s:g}s "
            f"({type(error).__name__}) while fetching {repo_type} {repo_id!r}; {alternative}"
        ) from None


MODEL_ALTERNATIVE = ("give model.teacher/student.name a local model directory (`dvc exp run -S "
                     "model.teacher.name=PATH`), or `tiny` to build one offline")

# What `from_pretrained` reads from a local model directory: its config, its PyTorch weights
# (whole or sharded), and its tokenizer: a `tokenizers` file or a slow tokenizer's vocabulary.
CONFIG_FILE = "config.json"
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "spiece.model", "sentencepiece.bpe.model", "spm.model",
                   "tokenizer.model")


def is_hub_id(name: str) -> bool:
    """True when `name` has the hub's form, `name` or `org/name`: a path with more parts, or
    one that starts with `/`, `./`, `../` or `~`, has not."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def _config_problem(directory: Path) -> str | None:
    config = directory / CONFIG_FILE
    if not config.is_file():
        return f"no {CONFIG_FILE}"
    try:
        model_type = json.loads(config.read_text(encoding="utf-8")).get("model_type")
    except (ValueError, AttributeError):
        return f"{CONFIG_FILE} is not a JSON mapping"
    return None if model_type else f"{CONFIG_FILE} names no model_type"


def model_directory_problems(directory: Path) -> list[str]:
    """What a local model directory lacks for `from_pretrained`, read from its files alone:
    cheap enough for the params check, which loads no model (a library that loads one takes
    seconds to import). A directory with every file can still fail to load; the stage that
    loads it says so."""
    config_problem = _config_problem(directory)
    problems = [config_problem] if config_problem else []
    if not any((directory / name).is_file() for name in WEIGHT_FILES):
        problems.append("no weights (model.safetensors or pytorch_model.bin)")
    if not any((directory / name).is_file() for name in TOKENIZER_FILES):
        problems.append("no tokenizer (tokenizer.json, or a vocabulary such as vocab.txt)")
    return problems


def _model_problem(name: str, timeout_s: float) -> str | None:
    path = Path(name)
    if path.is_dir():
        problems = model_directory_problems(path)
        if not problems:
            return None
        # A run directory holds its model one level down (runs/METHOD/TASK/model).
        inside = next((inner for inner in sorted(path.iterdir()) if inner.is_dir() and not model_directory_problems(inner)),
                      None)
        return f"{name}: not a model directory: {', '.join(problems)}" + (f"; {inside} is one" if inside else "")
    if path.exists():
        return f"{name}: not a directory; a model is a directory or a hub id"
    if not is_hub_id(name):
        return f"{name}: no such directory"
    try:
        require_hub(name, repo_type="model", timeout_s=timeout_s, alternative=MODEL_ALTERNATIVE)
    except InputError as error:
        return str(error)
    return None


def require_model(name: str, *, timeout_s: float, key: str | None = None) -> None:
    """Return if the model `name` is a usable local directory or can be reached on the hub, else
    raise a one-line InputError, led by `key` (the params key that names the model) if given."""
    problem = _model_problem(name, timeout_s)
    if problem:
        raise InputError(f"{key}: {problem}" if key else problem)


def model_problems(names: dict[str, str], *, timeout_s: float) -> list[str]:
    """The problem of each model that a params key names (key: name), one line each; none when
    every one is usable."""
    return [f"{key}: {problem}" for key, name in names.items() if (problem := _model_problem(name, timeout_s))]
