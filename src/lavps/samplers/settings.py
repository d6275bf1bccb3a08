"""Typed, step-dependent settings of the variational samplers (never strings evaluated as code)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Literal

from ..constants import DRAWS
from .config import SamplerConfig, setting

if TYPE_CHECKING:
    import torch

__all__ = ["WindowSchedule", "TauRule", "VISettings", "VIConfig", "MAX_STEPS"]

#: Diffusion steps K of the shipped schedules: a grid has at most K points
MAX_STEPS = 1000
#: upper bounds of the loop budgets: beyond them a run (and its duration estimate, which runs the loop with a
#: stand-in network) would take hours to days on any machine; --adam-out 1e9 hung before its first line
MAX_ADAM_STEPS = 1000
MAX_PARTICLES = 1024
MAX_RESTARTS = 100


@dataclass(frozen=True)
class WindowSchedule:
    """A value that is `outside` for the early iterations and `inside` for the last `window` ones.

    The window is the low-noise end of the run, where the inner problem is hardest.
    """

    outside: float
    inside: float
    window: int = 30

    def __post_init__(self):
        if self.window < 0:
            raise ValueError(f"window must be >= 0, got {self.window}")

    def in_window(self, iteration: int, num_iterations: int) -> bool:
        return self.window > 0 and iteration >= num_iterations - self.window

    def at(self, iteration: int, num_iterations: int) -> float:
        return self.inside if self.in_window(iteration, num_iterations) else self.outside


@dataclass(frozen=True)
class TauRule:
    """How tau < t is chosen (docs/METHOD.md section 4).

    "deterministic": tau = the next lower grid point.
    "mix": tau uniform in [min_tau, t) per sample for the first `threshold` iterations, then deterministic.
    """

    kind: Literal["deterministic", "mix"] = "deterministic"
    min_tau: int = 1
    threshold: int = 0

    def __post_init__(self):
        if self.kind not in ("deterministic", "mix"):
            raise ValueError(f"unknown tau rule {self.kind!r}; allowed: 'deterministic', 'mix'")
        if self.min_tau < 1:
            raise ValueError(f"min_tau must be >= 1, got {self.min_tau}")
        if self.threshold < 0:
            raise ValueError(f"threshold must be >= 0, got {self.threshold}")


@dataclass(frozen=True)
class VISettings:
    """Settings of MGDM (and LAVPS outside its amortized window).

    Attributes:
        steps: grid size N.
        adam_steps: Adam steps per iteration, outside / inside the final window.
        lr: Adam learning rate, outside / inside the final window.
        tau: the tau rule.
        n_reps: Gibbs repetitions of (variational step, denoising, re-noising) per iteration.
        denoise_steps: DDIM steps from x_tau to the clean estimate (1 = a single denoiser call).
        whiten: run Adam in coordinates whitened by the bridge prior (lr relative to its std s).
        restart_zeta: None = each iteration starts from the bridge x_t ~ q(x_t | x0, x_next) (the
            method's); zeta in [0, 1] = from DiffPIR's re-noising of x0 keeping a share 1 - zeta of
            x_next's noise (`lavps.diffusion.restart_sample`; 1 = a fresh draw from q(x_t | x0)).
        final_tau: None = the uniform grid of `steps` points; an int >= 1 = end at or below it: if the
            uniform grid's first point T_1 is above it, one more grid point there (one more iteration,
            `lavps.diffusion.grid_with_final_tau`). Windows count iterations of the uniform grid; the
            extra one is inside any non-empty window.
        temperature: the variational Gaussian's variance is multiplied by it before each draw of x_tau
            (rho + log(T) / 2). Mean-field Gauss-VI under-states the posterior's spread; T > 1 widens it.
        temperature_above: the temperature applies only to draws at tau >= this (0: at every tau); below it
            `temperature_below` does (1: the fitted variance).
        temperature_prior_only: temper only the prior's share of the draw's precision: with lam the
            linearised likelihood's (diag(A^T A) / (abar sigma^2), linear-Gaussian problems),
            1 / v' = (1 / v - lam)_+ / T + min(1 / v, lam). Measured directions stay as the likelihood
            pins them; elsewhere the variance is T times wider (False: v' = T v everywhere).
        draw: how x_tau is drawn around the inner problem's mean: "diagonal" = mu + e^rho z with the fitted
            mean-field log-std rho; "linearised" = mu + s e with e of the Gaussian-linearised inner problem's
            full covariance (`lavps.objective.linearised_noise`: the bridge's std s, shrunk only along the
            directions the linear-Gaussian likelihood measures; rho unused; the temperature multiplies s^2).
            On a problem that is not linear-Gaussian the draw stays diagonal.
    """

    steps: int = 100
    adam_steps: WindowSchedule = WindowSchedule(5, 20, 30)
    lr: WindowSchedule = WindowSchedule(0.03, 0.03, 30)
    tau: TauRule = TauRule()
    n_reps: int = 1
    denoise_steps: int = 1
    whiten: bool = False
    restart_zeta: float | None = None
    final_tau: int | None = None
    temperature: float = 1.0
    temperature_above: int = 0
    temperature_below: float = 1.0
    temperature_prior_only: bool = False
    draw: str = "diagonal"

    def __post_init__(self):
        if self.steps < 4:
            raise ValueError(f"MGDM needs a grid of at least 4 points, got {self.steps}")
        if self.n_reps < 1:
            raise ValueError(f"n_reps must be >= 1, got {self.n_reps}")
        if self.denoise_steps < 1:
            raise ValueError(f"denoise_steps must be >= 1, got {self.denoise_steps}")
        if self.adam_steps.outside < 0 or self.adam_steps.inside < 0:
            raise ValueError("Adam steps must be >= 0")
        if self.lr.outside <= 0 or self.lr.inside <= 0:
            raise ValueError("learning rates must be > 0")
        if self.restart_zeta is not None and not 0.0 <= self.restart_zeta <= 1.0:
            raise ValueError(f"restart_zeta must be in [0, 1] (or None for the bridge), got {self.restart_zeta}")
        if self.final_tau is not None and self.final_tau < 1:
            raise ValueError(f"final_tau must be >= 1 (or None for the uniform grid), got {self.final_tau}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if not self.temperature_below > 0:
            raise ValueError(f"temperature_below must be > 0, got {self.temperature_below}")
        if not 0 <= self.temperature_above < MAX_STEPS:
            raise ValueError(f"temperature_above must be in 0..{MAX_STEPS - 1}, got {self.temperature_above}")
        if self.draw not in DRAWS:
            raise ValueError(f"draw must be one of {', '.join(DRAWS)}, got {self.draw!r}")
        if self.draw == "linearised" and self.temperature_prior_only:
            raise ValueError(
                "temperature_prior_only needs the diagonal draw (the linearised one keeps the likelihood's)"
            )

    def tempered(
        self, rho: torch.Tensor, tau: int | torch.Tensor, likelihood_precision: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The log-std of the draw at tau: rho + log(T) / 2 with T = temperature where tau >= temperature_above,
        else temperature_below (rho itself at T = 1). tau: an int or a (B,) tensor (one per sample). With
        temperature_prior_only and the likelihood's precision lam (broadcastable to rho), only the precision
        beyond lam is divided by T (see the class docstring)."""
        high, low = self.temperature, self.temperature_below if self.temperature_above > 0 else self.temperature
        if high == 1.0 and low == 1.0:
            return rho
        if getattr(tau, "ndim", 0) > 0:  # per-sample tau (the mix rule)
            hot = (tau >= self.temperature_above).to(rho.dtype).reshape(-1, *([1] * (rho.ndim - 1)))
            log_t = 0.5 * (math.log(low) + hot * (math.log(high) - math.log(low)))
        else:
            log_t = 0.5 * math.log(high if int(tau) >= self.temperature_above else low)
        if not (self.temperature_prior_only and likelihood_precision is not None):
            return rho + log_t
        precision = (-2.0 * rho).exp()
        lam = likelihood_precision.to(rho.dtype).expand_as(rho)
        inverse_t = (-2.0 * log_t).exp() if hasattr(log_t, "exp") else math.exp(-2.0 * log_t)
        return -0.5 * ((precision - lam).clamp_min(0.0) * inverse_t + precision.minimum(lam)).log()

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class VIConfig(SamplerConfig):
    """The settings MGDM and LAVPS share (the variational Gibbs loop); `vi_settings` composes VISettings.

    Defaults: the MGDM paper's reference grid (N = 100, window 30, 5 Adam steps) with the learning rate
    tuned on held-out Gaussian-mixture problems (0.1); the image presets set lr 0.03 (samplers/presets.py).
    """

    steps: int = setting(100, "Grid size N (4..1000 points).")
    window: int = setting(30, "Final window: the last W iterations of the grid (0..N-3).")
    lr: float = setting(0.1, "Adam learning rate of the inner problem (> 0).")
    lr_inside: float | None = setting(None, "Adam learning rate inside the window (> 0; none: lr).")
    adam_out: int = setting(5, f"Adam steps per iteration outside the window (0..{MAX_ADAM_STEPS}).")
    n_reps: int = setting(1, "Gibbs repetitions per iteration (>= 1).")
    tau: Literal["deterministic", "mix"] = setting(
        "deterministic", "How tau < t is chosen: the next grid point, or uniform per sample early on (mix)."
    )
    min_tau: int = setting(1, "Smallest tau of the mix rule (>= 1).")
    tau_threshold: int = setting(0, "Iterations that use the mix rule (0..N-3).")
    restart_zeta: float | None = setting(
        None,
        "Start each iteration from DiffPIR's re-noising of x0 with this zeta in [0, 1] (1 = a fresh draw from "
        "q(x_t | x0)) instead of the bridge q(x_t | x0, x_next) (none).",
    )
    final_tau: int | None = setting(
        None,
        "End the run at this diffusion step, below the uniform grid's first point T_1 (one more grid point "
        "there: one more denoiser call; none: the uniform grid).",
    )
    denoise_steps: int = setting(1, "DDIM steps from x_tau to the clean estimate (>= 1; 1 = one denoiser call).")
    temperature: float = setting(
        1.0, "Multiply the variational Gaussian's variance by this before each draw of x_tau (> 0; 1: as fitted)."
    )
    temperature_above: int = setting(
        0, "Apply the temperature only to draws at diffusion steps tau >= this (0..999; 0: at every step)."
    )
    temperature_below: float = setting(
        1.0, "The variance temperature of draws below temperature_above (> 0; 1: as fitted; unused when it is 0)."
    )
    temperature_prior_only: bool = setting(
        False,
        "Temper only the prior's share of the draw's precision (linear-Gaussian problems): measured directions "
        "keep the likelihood's variance, the rest is temperature times wider (false: everything is).",
    )
    draw: Literal["diagonal", "linearised"] = setting(
        "diagonal",
        "How x_tau is drawn around the inner Gaussian's mean: its mean-field std (diagonal), or the full covariance "
        "of the Gaussian-linearised inner problem, shrunk only along measured directions (linearised; "
        "linear-Gaussian problems, else diagonal).",
    )
    whiten: bool = setting(False, "Run Adam in coordinates whitened by the bridge prior.")
    particles: int = setting(
        0,
        f"Weighted particles per output (0..{MAX_PARTICLES}; 0: none; K >= 1: sequential Monte Carlo with the "
        "explicit likelihood, exact as K grows up to the grid; K times the passes; lavps.samplers.particles).",
    )
    restarts: int = setting(
        0,
        "Redraw an output whose discrepancy (noise-normalised mean squared residual, ~1 for the truth) exceeds "
        f"`discrepancy`, up to this many times (0..{MAX_RESTARTS}; 0: never; only the failing outputs pay; "
        "lavps.samplers.restarts).",
    )
    discrepancy: float = setting(1.1, "The restarts' threshold on an output's discrepancy (> 0).")

    def check(self) -> None:
        self.require("steps", 4 <= self.steps <= MAX_STEPS, f"an integer in 4..{MAX_STEPS}")
        self.require("particles", 0 <= self.particles <= MAX_PARTICLES, f"in 0..{MAX_PARTICLES}")
        self.require("restarts", 0 <= self.restarts <= MAX_RESTARTS, f"in 0..{MAX_RESTARTS}")
        self.require("discrepancy", self.discrepancy > 0, "> 0")
        iterations = self.steps - 3
        rule = f"in 0..{iterations} (the N - 3 iterations of a grid of N = {self.steps} points)"
        self.require("window", 0 <= self.window <= iterations, rule)
        self.require("tau_threshold", 0 <= self.tau_threshold <= iterations, rule)
        self.require("lr", self.lr > 0, "> 0")
        self.require("lr_inside", self.lr_inside is None or self.lr_inside > 0, "> 0 or None")
        self.require("adam_out", 0 <= self.adam_out <= MAX_ADAM_STEPS, f"in 0..{MAX_ADAM_STEPS}")
        self.require("n_reps", self.n_reps >= 1, ">= 1")
        self.require("min_tau", 1 <= self.min_tau < MAX_STEPS, f"in 1..{MAX_STEPS - 1}")
        zeta = self.restart_zeta
        self.require("restart_zeta", zeta is None or 0.0 <= zeta <= 1.0, "in [0, 1] or None (the bridge)")
        final = self.final_tau
        self.require("final_tau", final is None or 1 <= final < MAX_STEPS, f"in 1..{MAX_STEPS - 1} or None")
        self.require("denoise_steps", self.denoise_steps >= 1, ">= 1")
        self.require("temperature", self.temperature > 0, "> 0")
        self.require("temperature_above", 0 <= self.temperature_above < MAX_STEPS, f"in 0..{MAX_STEPS - 1}")
        self.require("temperature_below", self.temperature_below > 0, "> 0")
        self.require("draw", self.draw in DRAWS, " or ".join(DRAWS))
        linear = self.draw == "linearised"
        self.require("draw", not (linear and self.temperature_prior_only), "diagonal with temperature_prior_only")
        self.require("draw", not (linear and self.particles), "diagonal with particles (their weights are mean-field)")

    def vi_settings(self, adam_in: int) -> VISettings:
        """The typed settings of the Gibbs loop, with `adam_in` Adam steps inside the window."""
        lr_in = self.lr if self.lr_inside is None else self.lr_inside
        return VISettings(
            steps=self.steps,
            adam_steps=WindowSchedule(self.adam_out, adam_in, self.window),
            lr=WindowSchedule(self.lr, lr_in, self.window),
            tau=TauRule(self.tau, self.min_tau, self.tau_threshold),
            n_reps=self.n_reps,
            denoise_steps=self.denoise_steps,
            whiten=self.whiten,
            restart_zeta=self.restart_zeta,
            final_tau=self.final_tau,
            temperature=self.temperature,
            temperature_above=self.temperature_above,
            temperature_below=self.temperature_below,
            temperature_prior_only=self.temperature_prior_only,
            draw=self.draw,
        )
