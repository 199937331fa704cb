"""The base of every `params.yaml` section, and the lists whose entries must differ."""

from __future__ import annotations

from typing import Annotated, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict


class Section(BaseModel):
    # Unknown keys are errors: a typo must not silently fall back to a default. Frozen: a
    # section is read, never changed, once validated.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _each_once(values: list) -> list:
    seen = []
    for value in values:
        if value in seen:
            raise ValueError(f"{value} is listed twice; list each once")
        seen.append(value)
    return values


Item = TypeVar("Item")
# A list of work to do (tasks, seeds...): an entry listed twice would be done twice, side by
# side, into the same outputs.
Distinct = Annotated[list[Item], AfterValidator(_each_once)]
