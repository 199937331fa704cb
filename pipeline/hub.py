"""The dataset and model hub, behind a fail-fast reachability check.

`datasets` and `transformers` retry an unreachable hub for 25 to 50 seconds before failing
(measured here), and a firewall that drops packets can make them hang far longer. One probe
with a hard timeout first turns that into a prompt, one-line error that names the offline
alternative.
"""

from __future__ import annotations

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


def require_model(name: str, *, timeout_s: float) -> None:
    """Return if the model `name` is a local directory or can be reached on the hub, else raise
    an InputError naming the offline alternatives."""
    if not Path(name).is_dir():
        require_hub(name, repo_type="model", timeout_s=timeout_s, alternative=MODEL_ALTERNATIVE)
