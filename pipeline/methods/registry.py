"""Every training method, by name, in the results table's row order: found by importing each
module of pipeline/methods/ and taking the `Method` subclass it defines. A new module there is
a new method; nothing else lists them."""

from __future__ import annotations

import importlib
import pkgutil

import pipeline.methods
from pipeline.methods.base import Method, MethodInfo

NOT_METHODS = {"base", "registry"}  # the package's modules that define no method


def _method_of(module_name: str) -> type[Method]:
    module = importlib.import_module(f"{pipeline.methods.__name__}.{module_name}")
    defined = [value for value in vars(module).values()
               if isinstance(value, type) and issubclass(value, Method) and value.__module__ == module.__name__]
    if len(defined) != 1:
        raise TypeError(f"{module.__name__}: a method module defines one Method subclass, found {len(defined)}")
    return defined[0]


def _discover() -> dict[str, type[Method]]:
    names = sorted(info.name for info in pkgutil.iter_modules(pipeline.methods.__path__))
    steps = sorted((_method_of(name) for name in names if name not in NOT_METHODS), key=lambda step: step.info.row)
    for step, after in zip(steps, steps[1:]):
        if step.info.row == after.info.row:
            raise TypeError(f"methods {step.info.name} and {after.info.name} share row {step.info.row}")
    by_name = {step.info.name: step for step in steps}
    if len(by_name) != len(steps):
        raise TypeError("two method modules register the same name")
    return by_name


STEPS: dict[str, type[Method]] = _discover()  # each method's step class
METHODS: dict[str, MethodInfo] = {name: step.info for name, step in STEPS.items()}
