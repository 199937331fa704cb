"""The step class of every method in pipeline/settings/methods.py, by name."""

from __future__ import annotations

from pipeline.distill.base import Method
from pipeline.distill.finetune import Finetune
from pipeline.distill.kd import Kd
from pipeline.distill.lgtm import Lgtm
from pipeline.distill.prokt import Prokt

STEPS: dict[str, type[Method]] = {step.info.name: step for step in (Finetune, Kd, Prokt, Lgtm)}
