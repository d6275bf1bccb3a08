"""Build samplers by name from plain option dictionaries (CLI and benchmarks)."""

from __future__ import annotations

from pathlib import Path

from ..amortize.checkpoint import load_amortizer, load_supervised
from .base import Sampler
from .ddim import DDIM
from .ddrm import DDRM
from .diffpir import DiffPIR
from .dps import DPS
from .lavps import LAVPS, GuardSettings
from .mgdm import MGDM
from .settings import TauRule, VISettings, WindowSchedule
from .supervised import SupervisedDDIM

__all__ = ["SAMPLERS", "build_sampler", "vi_settings_from_options"]

SAMPLERS = ("ddim", "dps", "mgdm", "lavps", "amortized-only", "supervised", "ddrm", "diffpir")

#: Defaults used by the CLI and the benchmarks (docs/METHOD.md reference settings, DPS zeta tuned on
#: held-out GMM problems, see README).
DEFAULTS = {
    "steps": 100,
    "dps_steps": 1000,
    "dps_zeta": 0.03,
    "lr": 0.1,
    "lr_inside": None,
    "adam_out": 5,
    "adam_in": 20,
    "window": 30,
    "n_reps": 1,
    "tau": "deterministic",
    "min_tau": 1,
    "tau_threshold": 0,
    "denoise_steps": 1,
    "whiten": False,
    "restart_zeta": None,
    "final_tau": None,
    # LAVPS / baselines: "amortizer" and "supervised" are a path or a loaded network
    "amortizer": None,
    "supervised": None,
    "inner_steps": 3,
    "guard": True,
    "candidates": ("network", "zero_shot"),
    "linear_iters": 10,
    "reuse_draw": False,
    "linear_variance": False,
    "linear_below": 0,
    "fallback_steps": None,
    "inner_tol": 0.0,
    # DDRM / DiffPIR (docs/baselines.md): steps = denoiser forwards; paper / authors' code defaults
    "ddrm_steps": 20,
    "ddrm_eta": 0.85,
    "ddrm_eta_b": 1.0,
    "diffpir_steps": 100,
    "diffpir_lambda": 1.75,
    "diffpir_zeta": 0.3,
    "diffpir_solver": "auto",
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
        whiten=_as_bool(o["whiten"]),
        restart_zeta=None if o["restart_zeta"] is None else float(o["restart_zeta"]),
        final_tau=None if o["final_tau"] is None else int(o["final_tau"]),
    )


def _as_bool(value) -> bool:
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no", "on", "off"):
        return value.lower() in ("true", "1", "yes", "on")
    if isinstance(value, (bool, int)):
        return bool(value)
    raise ValueError(f"expected a boolean, got {value!r}")


def _network(o: dict, key: str, name: str, prior):
    value = o[key]
    if value is None:
        raise ValueError(f"sampler {name!r} needs options[{key!r}]: a trained network or the path of its file")
    if isinstance(value, (str, Path)):
        return (load_amortizer if key == "amortizer" else load_supervised)(value, prior=prior)
    return value


def build_sampler(name: str, prior, options: dict | None = None) -> Sampler:
    """A sampler by name (see SAMPLERS); options override DEFAULTS.

    'lavps' needs options["amortizer"] (path or Amortizer) and reads "guard", "inner_steps",
    "candidates" (names or a comma-separated string), "linear_iters", "reuse_draw", "linear_variance",
    "linear_below", "fallback_steps" and "inner_tol";
    'amortized-only' is LAVPS without guard and with inner_steps = 0; 'supervised' needs
    options["supervised"] (path or ConditionalDenoiser) and uses "steps" as its DDIM grid size.
    'ddrm' reads "ddrm_steps", "ddrm_eta", "ddrm_eta_b" (the operator needs an exact SVD); 'diffpir'
    reads "diffpir_steps", "diffpir_lambda", "diffpir_zeta", "diffpir_solver" (auto | svd | cg).
    """
    options = options or {}
    o = {**DEFAULTS, **{k: v for k, v in options.items() if v is not None}}
    if name == "ddim":
        return DDIM(prior, steps=int(o["steps"]))
    if name == "dps":
        return DPS(prior, steps=int(o["dps_steps"]), zeta=float(o["dps_zeta"]))
    if name == "mgdm":
        return MGDM(prior, vi_settings_from_options(options))
    if name in ("lavps", "amortized-only"):
        amortizer = _network(o, "amortizer", name, prior)
        if name == "amortized-only":
            return LAVPS(prior, amortizer, vi_settings_from_options(options), guard=False, inner_steps=0)
        candidates = o["candidates"]
        if isinstance(candidates, str):
            candidates = [c.strip() for c in candidates.split(",") if c.strip()]
        guard = GuardSettings(
            enabled=_as_bool(o["guard"]),
            candidates=tuple(candidates),
            linear_iters=int(o["linear_iters"]),
            reuse_draw=_as_bool(o["reuse_draw"]),
        )
        return LAVPS(
            prior,
            amortizer,
            vi_settings_from_options(options),
            guard,
            int(o["inner_steps"]),
            linear_variance=_as_bool(o["linear_variance"]),
            linear_below=int(o["linear_below"]),
            fallback_steps=None if o["fallback_steps"] is None else int(o["fallback_steps"]),
            inner_tol=float(o["inner_tol"]),
        )
    if name == "ddrm":
        return DDRM(prior, steps=int(o["ddrm_steps"]), eta=float(o["ddrm_eta"]), eta_b=float(o["ddrm_eta_b"]))
    if name == "diffpir":
        return DiffPIR(
            prior,
            steps=int(o["diffpir_steps"]),
            lam=float(o["diffpir_lambda"]),
            zeta=float(o["diffpir_zeta"]),
            solver=str(o["diffpir_solver"]),
        )
    if name == "supervised":
        return SupervisedDDIM(prior, _network(o, "supervised", name, prior), steps=int(o["steps"]))
    raise ValueError(f"unknown sampler {name!r}; allowed: {', '.join(SAMPLERS)}")
