"""The samplers by name: each name maps to (sampler class, config class) and nothing else (the names and
configs alone, without torch: `lavps.samplers.configs`).

`build_sampler(name, prior, settings)` makes the config from a config object or a dict of its field
names (unknown names are refused with the allowed list) and calls the class's `from_config`. LAVPS and
the supervised baseline also take their trained network (`amortizer=`, `supervised=`: a loaded network
or the path of its file).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path

from ..amortize.checkpoint import load_amortizer, load_supervised
from .base import Sampler
from .config import SamplerConfig, make_config
from .configs import CONFIGS, config_class, restoring_samplers
from .particles import Particles
from .restarts import Restarts

__all__ = [
    "restoring_samplers",
    "SAMPLERS",
    "NETWORKS",
    "build_sampler",
    "config_class",
    "make_settings",
    "settings_record",
    "settings_from_record",
]


def sampler_class(config: type[SamplerConfig]) -> type[Sampler]:
    """The sampler class a config names in its own body (`SamplerConfig.implementation`, "module:Class" in
    lavps.samplers); a config that names none, or a name that does not resolve, is a TypeError naming it."""
    spec = vars(config).get("implementation", "")
    module, _, name = spec.partition(":")
    cls = getattr(importlib.import_module(f".{module}", __package__), name, None) if module and name else None
    if not (isinstance(cls, type) and issubclass(cls, Sampler)):
        raise TypeError(
            f"{config.__name__}.implementation must name its sampler class as 'module:Class' in lavps.samplers "
            f"in the config's own body, got {spec!r}"
        )
    return cls


SAMPLERS: dict[str, tuple[type[Sampler], type[SamplerConfig]]] = {
    name: (sampler_class(config), config) for name, config in CONFIGS.items()
}

#: the trained networks a sampler may take beside its settings (never settings themselves)
NETWORKS = ("amortizer", "supervised")


def make_settings(name: str, settings: SamplerConfig | Mapping | None = None) -> SamplerConfig:
    """The config of sampler `name` from its config object or a dict of its field names (over its defaults)."""
    return make_config(config_class(name), settings)


#: samplers that differentiate through the prior's denoiser
GRADIENT_GUIDED = ("dps", "mgdm", "lavps", "amortized-only")


def build_sampler(name: str, prior, settings: SamplerConfig | Mapping | None = None, **networks) -> Sampler:
    """Sampler `name` (see SAMPLERS) with `settings` (a config, or a dict of field names over its defaults).

    networks: `amortizer=` for lavps / amortized-only, `supervised=` for supervised (a network or a path).
    A dict may also hold them under those keys (the benchmarks' shared options do).
    """
    if isinstance(settings, Mapping):
        settings = dict(settings)
        for key in NETWORKS:
            if key in settings:
                value = settings.pop(key)
                networks.setdefault(key, value)
    unknown = sorted(set(networks) - set(NETWORKS))
    if unknown:
        raise TypeError(f"build_sampler takes the networks {', '.join(NETWORKS)}, not {', '.join(unknown)}")
    sampler_class, _ = SAMPLERS.get(name, (None, None))
    config = make_settings(name, settings)
    check = getattr(prior, "check_differentiable", None)  # a user's D(x, sigma) (edm:): probed once
    if check is not None and name in GRADIENT_GUIDED:
        check()
    loaded = {k: _network(k, v, prior) for k, v in networks.items() if v is not None}
    sampler = sampler_class.from_config(prior, config, **loaded)
    if getattr(config, "particles", 0):  # MGDM / LAVPS: K weighted particles around the sampler
        sampler = Particles(sampler, config.particles)
    if getattr(config, "restarts", 0):  # redraw the outputs that do not explain y
        sampler = Restarts(sampler, config.restarts, config.discrepancy)
    return sampler


def _network(key: str, value, prior):
    if isinstance(value, (str, Path)):
        return (load_amortizer if key == "amortizer" else load_supervised)(value, prior=prior)
    return value


def settings_record(name: str, config: SamplerConfig) -> dict:
    """What restore.json / run.json record of a sampler: {"sampler": name, "settings": asdict(config)}."""
    import dataclasses

    return {"sampler": name, "settings": dataclasses.asdict(config)}


def settings_from_record(record: Mapping) -> tuple[str, SamplerConfig]:
    """(sampler name, config) rebuilt from a record written by `settings_record` (restore.json, run.json)."""
    try:
        name, values = record["sampler"], record["settings"]
    except (KeyError, TypeError):
        raise ValueError("a settings record needs 'sampler' and 'settings' entries") from None
    cls = config_class(name)
    # records before the configs kept the amortizer's path among the settings: it is not a setting
    return name, make_config(cls, {k: v for k, v in values.items() if k not in NETWORKS})
