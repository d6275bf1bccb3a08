"""Typed, step-dependent settings of the variational samplers (never strings evaluated as code)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

__all__ = ["WindowSchedule", "TauRule", "VISettings"]


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

    def to_dict(self) -> dict:
        return asdict(self)
