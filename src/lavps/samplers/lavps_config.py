"""LAVPS's settings: the guard (`GuardSettings`) and the sampler's config (`LAVPSConfig`, and the "amortized only"
baseline's). The sampler itself is `lavps.samplers.lavps.LAVPS`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..constants import CURVATURE_PROBES
from .config import setting
from .settings import MAX_ADAM_STEPS, VIConfig

__all__ = ["LAVPSConfig", "AmortizedOnlyConfig", "GuardSettings", "CANDIDATES", "Candidate"]

CANDIDATES = ("zero_shot", "linear", "network")  # tie order: earlier names win ties


@dataclass(frozen=True)
class GuardSettings:
    """The per-sample best-of guard inside the window.

    Attributes:
        enabled: score the candidates and keep the best per sample (False: trust the network).
        candidates: which starts compete, a subset of CANDIDATES ("network" is always included).
        linear_iters: CG iterations of the linearised candidate.
        reuse_draw: with G_in = 0, the winner's scored sample and its denoised value are kept as
            x_tau and x0 (saves one denoiser forward per window iteration).
        linear_probes: VJP probes of the curvature diagonal of a non-linear problem's linearised start.
    """

    enabled: bool = True
    candidates: tuple[str, ...] = ("network", "zero_shot")
    linear_iters: int = 10
    reuse_draw: bool = False
    linear_probes: int = CURVATURE_PROBES

    def __post_init__(self):
        bad = [c for c in self.candidates if c not in CANDIDATES]
        if bad or "network" not in self.candidates or len(set(self.candidates)) != len(self.candidates):
            raise ValueError(
                f"guard candidates must be distinct names from {', '.join(CANDIDATES)} including 'network', "
                f"got {list(self.candidates)}"
            )
        if self.linear_iters < 1:
            raise ValueError(f"linear_iters must be >= 1, got {self.linear_iters}")
        if self.linear_probes < 1:
            raise ValueError(f"linear_probes must be >= 1, got {self.linear_probes}")
        object.__setattr__(self, "candidates", tuple(c for c in CANDIDATES if c in self.candidates))


Candidate = Literal["zero_shot", "linear", "network"]


@dataclass(frozen=True)
class LAVPSConfig(VIConfig):
    """LAVPS's settings: the Gibbs loop outside the window (VIConfig; inside it `inner_steps` replaces
    MGDM's adam_in), the guard (GuardSettings) and the network's proposal. Defaults: the paper's
    (guard network vs zero-shot start, 3 Adam steps after it); the image presets are in samplers/presets.py."""

    label = "lavps"
    implementation = "lavps:LAVPS"

    inner_steps: int = setting(3, f"Adam steps after the guard inside the window, G_in (0..{MAX_ADAM_STEPS}).")
    guard: bool = setting(True, "Score the candidate starts and keep the best per sample (off: trust the network).")
    candidates: tuple[Candidate, ...] = setting(
        ("network", "zero_shot"), "Starts the guard compares (network, zero_shot, linear; network always)."
    )
    linear_iters: int = setting(10, "CG iterations of the linearised candidate (>= 1).")
    linear_probes: int = setting(
        CURVATURE_PROBES, "VJP probes of the linearised log-std of a non-linear measurement (>= 1)."
    )
    reuse_draw: bool = setting(False, "With inner_steps 0: keep the guard winner's draw and its D(x) (one call less).")
    linear_variance: bool = setting(False, "Add the linearised likelihood's variance shrink to the network's log-std.")
    linear_below: int = setting(0, "Below this tau the linearised solution replaces the network (0..999; 0: never).")
    fallback_steps: int | None = setting(
        None, "Adam steps of the samples whose guard rejected the network (>= 0; none: inner_steps for all)."
    )
    inner_tol: float = setting(0.0, "Stop a sample's Adam steps when its loss falls by less than this share (>= 0).")
    inner_taus: tuple[int, ...] = setting(
        (0, 1000), "Take the Adam steps after the guard only where LOW <= tau < HIGH (two integers in 0..1000)."
    )
    nonlinear_inner_steps: int | None = setting(
        None,
        "Adam steps after the guard when the likelihood is not linear-Gaussian (its Gauss-Newton model is then "
        "inexact; >= 0; none: inner_steps everywhere).",
    )

    def check(self) -> None:
        super().check()
        self.require("inner_steps", 0 <= self.inner_steps <= MAX_ADAM_STEPS, f"in 0..{MAX_ADAM_STEPS}")
        GuardSettings(True, self.candidates)  # the guard's own rule on candidates
        self.require("linear_iters", self.linear_iters >= 1, ">= 1")
        self.require("linear_probes", self.linear_probes >= 1, ">= 1")
        self.require("linear_below", 0 <= self.linear_below < 1000, "in 0..999")
        fallback = self.fallback_steps
        self.require("fallback_steps", fallback is None or fallback >= 0, ">= 0 or None")
        self.require(
            "fallback_steps", fallback is None or self.guard, "None without the guard (it picks who falls back)"
        )
        self.require("inner_tol", self.inner_tol >= 0, ">= 0")
        taus = self.inner_taus
        rule = "LOW HIGH with 0 <= LOW < HIGH <= 1000"
        self.require("inner_taus", len(taus) == 2 and 0 <= taus[0] < taus[1] <= 1000, rule)
        steps = self.nonlinear_inner_steps
        self.require("nonlinear_inner_steps", steps is None or steps >= 0, ">= 0 or None")
        kept = self.guard and self.reuse_draw and self.inner_steps == 0  # the guard's scored draw is kept
        self.require("draw", not (kept and self.draw == "linearised"), "diagonal with reuse_draw (a scored draw)")

    def guard_settings(self) -> GuardSettings:
        return GuardSettings(self.guard, self.candidates, self.linear_iters, self.reuse_draw, self.linear_probes)


@dataclass(frozen=True)
class AmortizedOnlyConfig(VIConfig):
    """The "amortized only" baseline: LAVPS without the guard and without Adam steps inside the window."""

    label = "amortized-only"
    implementation = "lavps:LAVPS"
    restores = False  # a baseline of the Gaussian-mixture study (bench gmm, bench pareto)
