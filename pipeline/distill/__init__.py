"""The training methods, by name: each a step function for the one training loop."""

from pipeline.distill.base import Method
from pipeline.distill.finetune import Finetune
from pipeline.distill.kd import Kd
from pipeline.distill.lgtm import Lgtm
from pipeline.distill.prokt import Prokt

METHODS: dict[str, type[Method]] = {m.name: m for m in (Finetune, Kd, Prokt, Lgtm)}
