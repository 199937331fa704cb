"""The step class of every method in pipeline/settings/methods.py, by name."""

from __future__ import annotations

from pipeline.distill.base import Method
from pipeline.distill.dist import Dist
from pipeline.distill.dml import Dml
from pipeline.distill.finetune import Finetune
from pipeline.distill.kd import Kd
from pipeline.distill.lgtm import Lgtm
from pipeline.distill.metadistil import Metadistil
from pipeline.distill.pesfkd import Pesfkd
from pipeline.distill.pkd import Pkd
from pipeline.distill.prokt import Prokt
from pipeline.distill.rco import Rco
from pipeline.distill.skd import Skd
from pipeline.distill.takd import Takd

STEPS: dict[str, type[Method]] = {
    step.info.name: step for step in (Finetune, Kd, Pkd, Skd, Dist, Takd, Rco, Dml, Prokt, Pesfkd, Metadistil, Lgtm)
}
