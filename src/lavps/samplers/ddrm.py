"""Denoising Diffusion Restoration Models.

Kawar, Elad, Ermon, Song, "Denoising Diffusion Restoration Models" (NeurIPS 2022), arXiv:2201.11793.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..diffusion import baseline_grid
from ..operators.svd import SVD
from .base import Context, Sampler
from .configs import DDRMConfig

__all__ = ["DDRM", "DDRMConfig", "DDRMState"]


@dataclass
class DDRMState:
    """x at the current grid time, the last clean estimate and the operator's SVD."""

    x: torch.Tensor
    x0: torch.Tensor
    svd: SVD


class DDRM(Sampler):
    """DDRM in the spectral domain of A = U diag(s) V^T, on a grid of steps + 1 points (uniform in t, or
    evenly spaced in log sigma_t: `lavps.diffusion.baseline_grid`).

    With sigma_t = sqrt((1 - abar_t) / abar_t), x_bar = V^T x / sqrt(abar), x0_bar = V^T D(x_t, t),
    y_bar = U^T y / s and eps ~ N(0, I) per step, coordinate i moves from t to t' < t as (paper eq. 7-8)
      s_i = 0:                      x0_bar + sqrt(1 - eta^2) sigma_t' (x_bar - x0_bar) / sigma_t + eta sigma_t' eps
      0 < s_i sigma_t' < sigma_y:   x0_bar + sqrt(1 - eta^2) sigma_t' (y_bar - x0_bar) s_i / sigma_y + eta sigma_t' eps
      s_i sigma_t' >= sigma_y:      (1 - eta_b) x0_bar + eta_b y_bar + sqrt(sigma_t'^2 - eta_b^2 sigma_y^2 / s_i^2) eps
    then x_t' = sqrt(abar_t') V x_bar'. The start is x_T ~ N(0, I) (as the authors' code); the last
    step (t' = 0) returns x0 = V x0_bar. Defaults eta = 0.85, eta_b = 1 are the paper's. Everything is
    per sample (singular values too); the denoiser runs forwards only: `steps` forwards, no backward.
    """

    name = "ddrm"

    def __init__(
        self,
        prior,
        steps: int = 20,
        eta: float = 0.85,
        eta_b: float = 1.0,
        grid: str = "uniform_t",
        dtype=torch.float32,
    ):
        super().__init__(prior, dtype)
        if not (0.0 <= eta <= 1.0 and 0.0 <= eta_b <= 1.0):
            raise ValueError(f"DDRM needs eta and eta_b in [0, 1], got eta={eta}, eta_b={eta_b}")
        if steps < 2:
            raise ValueError(f"DDRM needs at least 2 steps, got {steps}")
        self.grid = baseline_grid(grid, steps + 1, self.schedule)
        self.eta, self.eta_b = eta, eta_b

    @classmethod
    def from_config(cls, prior, config: DDRMConfig, **_) -> DDRM:
        return cls(prior, steps=config.steps, eta=config.ddrm_eta, eta_b=config.ddrm_eta_b, grid=config.grid)

    def init(self, ctx: Context) -> DDRMState:
        ctx.problem.require_linear_gaussian("ddrm")
        svd = ctx.problem.operator.svd()  # NoCheapSVDError (a ValueError) names the operator
        x = ctx.randn()
        return DDRMState(x=x, x0=torch.zeros_like(x), svd=svd)

    def step(self, state: DDRMState, step, index: int, ctx: Context) -> DDRMState:
        t, t_next = step
        svd, eta, eta_b, sigma_y = state.svd, self.eta, self.eta_b, ctx.problem.sigma
        sig_t, sig_n = float(self.schedule.sigma(t)), float(self.schedule.sigma(t_next))
        with torch.no_grad():
            x0 = ctx.denoise(state.x, t)
        x_bar = svd.vt(state.x / math.sqrt(float(self.schedule.abar(t))))
        x0_bar, uy, eps = svd.vt(x0), svd.ut(ctx.problem.y.to(x0.dtype)), svd.vt(ctx.randn())
        s = svd.s(x0_bar)
        s_safe = torch.where(s > 0, s, torch.ones_like(s))
        missing = x0_bar + math.sqrt(1 - eta**2) * sig_n * (x_bar - x0_bar) / sig_t + eta * sig_n * eps
        less_noisy = x0_bar + math.sqrt(1 - eta**2) * sig_n * (uy - s * x0_bar) / sigma_y + eta * sig_n * eps
        noisier_std = (sig_n**2 - (eta_b * sigma_y / s_safe) ** 2).clamp_min(0.0).sqrt()
        noisier = (1 - eta_b) * x0_bar + eta_b * uy / s_safe + noisier_std * eps
        x_bar_next = torch.where(s == 0, missing, torch.where(s * sig_n >= sigma_y, noisier, less_noisy))
        x = math.sqrt(float(self.schedule.abar(t_next))) * svd.v(x_bar_next)
        return DDRMState(x=x.to(self.dtype), x0=x0, svd=svd)

    def finish(self, state: DDRMState, ctx: Context) -> torch.Tensor:
        return state.x
