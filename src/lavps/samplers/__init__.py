"""Samplers: DDIM (prior), DPS, MGDM, LAVPS. Each returns samples and a cost record."""

from .base import Context, Sampler, SampleResult
from .cost import Cost
from .ddim import DDIM
from .dps import DPS
from .mgdm import MGDM
from .settings import TauRule, VISettings, WindowSchedule

__all__ = [
    "Sampler",
    "SampleResult",
    "Context",
    "Cost",
    "DDIM",
    "DPS",
    "MGDM",
    "VISettings",
    "WindowSchedule",
    "TauRule",
]
