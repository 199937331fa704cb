"""The base of every `params.yaml` section."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    # Unknown keys are errors: a typo must not silently fall back to a default. Frozen: a
    # section is read, never changed, once validated.
    model_config = ConfigDict(extra="forbid", frozen=True)
