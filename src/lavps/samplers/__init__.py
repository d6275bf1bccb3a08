"""Samplers: DDIM (prior), DPS, MGDM, LAVPS, DDRM, DiffPIR. Each returns samples and a cost record."""

from .base import Context, Sampler, SampleResult
from .cost import Cost
from .ddim import DDIM
from .ddrm import DDRM
from .diffpir import DiffPIR
from .dps import DPS
from .mgdm import MGDM
from .settings import TauRule, VISettings, WindowSchedule

__all__ = [
    "Sampler",
    "SampleResult",
    "Context",
    "Cost",
    "DDIM",
    "DDRM",
    "DiffPIR",
    "DPS",
    "MGDM",
    "VISettings",
    "WindowSchedule",
    "TauRule",
]
