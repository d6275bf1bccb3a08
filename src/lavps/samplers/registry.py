"""Build samplers by name from plain option dictionaries (CLI and benchmarks)."""

from __future__ import annotations

from .base import Sampler
from .ddim import DDIM
from .dps import DPS
from .mgdm import MGDM
from .settings import TauRule, VISettings, WindowSchedule

__all__ = ["SAMPLERS", "build_sampler", "vi_settings_from_options"]

SAMPLERS = ("ddim", "dps", "mgdm")

#: Defaults used by the CLI and the benchmarks (METHOD.md reference settings, DPS zeta tuned on
#: held-out GMM problems, see README).
DEFAULTS = {
    "steps": 100,
    "dps_steps": 1000,
    "dps_zeta": 0.03,
    "lr": 0.03,
    "lr_inside": None,
    "adam_out": 5,
    "adam_in": 20,
    "window": 30,
    "n_reps": 1,
    "tau": "deterministic",
    "min_tau": 1,
    "tau_threshold": 0,
    "denoise_steps": 1,
}


def vi_settings_from_options(options: dict) -> VISettings:
    o = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
    lr_in = o["lr_inside"] if o["lr_inside"] is not None else o["lr"]
    return VISettings(
        steps=int(o["steps"]),
        adam_steps=WindowSchedule(int(o["adam_out"]), int(o["adam_in"]), int(o["window"])),
        lr=WindowSchedule(float(o["lr"]), float(lr_in), int(o["window"])),
        tau=TauRule(o["tau"], int(o["min_tau"]), int(o["tau_threshold"])),
        n_reps=int(o["n_reps"]),
        denoise_steps=int(o["denoise_steps"]),
    )


def build_sampler(name: str, prior, options: dict | None = None) -> Sampler:
    """A sampler by name ('ddim', 'dps', 'mgdm'); options override DEFAULTS."""
    options = options or {}
    o = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
    if name == "ddim":
        return DDIM(prior, steps=int(o["steps"]))
    if name == "dps":
        return DPS(prior, steps=int(o["dps_steps"]), zeta=float(o["dps_zeta"]))
    if name == "mgdm":
        return MGDM(prior, vi_settings_from_options(options))
    raise ValueError(f"unknown sampler {name!r}; allowed: {', '.join(SAMPLERS)}")
