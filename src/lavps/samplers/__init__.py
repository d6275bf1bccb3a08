"""Samplers: DDIM (prior), DPS, MGDM, LAVPS, DDRM, DiffPIR. Each returns samples and a cost record; each
has one frozen config dataclass (`DDRMConfig`, ...; torch-free, in `configs` and `lavps_config`, re-exported
by the sampler's module); `registry.SAMPLERS` maps a name to both.

The classes are imported on first use (as in `lavps`), so that torch-free submodules such as
`lavps.samplers.presets` can be read by the CLI without loading torch.
"""

from ..lazy import lazy_attributes

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
    "SamplerConfig",
    "VIConfig",
    "DDIMConfig",
    "DPSConfig",
    "MGDMConfig",
    "LAVPSConfig",
    "DDRMConfig",
    "DiffPIRConfig",
]

_WHERE = {
    "Sampler": "base",
    "SampleResult": "base",
    "Context": "base",
    "Cost": "cost",
    "DDIM": "ddim",
    "DDRM": "ddrm",
    "DiffPIR": "diffpir",
    "DPS": "dps",
    "MGDM": "mgdm",
    "VISettings": "settings",
    "WindowSchedule": "settings",
    "TauRule": "settings",
    "SamplerConfig": "config",
    "VIConfig": "settings",
    "DDIMConfig": "configs",
    "DPSConfig": "configs",
    "MGDMConfig": "configs",
    "LAVPSConfig": "lavps_config",
    "DDRMConfig": "configs",
    "DiffPIRConfig": "configs",
}


__getattr__ = lazy_attributes(__name__, _WHERE)
