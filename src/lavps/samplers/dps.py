"""Diffusion Posterior Sampling.

Chung, Kim, Mccann, Klasky, Ye, "Diffusion Posterior Sampling for General Noisy Inverse Problems"
(ICLR 2023), arXiv:2209.14687.
"""

from __future__ import annotations

import torch

from ..diffusion import ddim_step
from .base import Context
from .configs import DPSConfig
from .ddim import DDIM, DDIMState

__all__ = ["DPS", "DPSConfig"]


class DPS(DDIM):
    """x' = DDPM step from D(x_t) then x' -= zeta * grad_{x_t} ||r||^2 / ||r||, r = y - A D(x_t).

    The residual norm and so the step size are per sample: batch-mates never interact. Any measurement A
    (autograd through it); the residual is the noise model's (`dps_residual`: y - A(x) for Gaussian
    noise, the paper's weighted one for Poisson).
    Cost: one denoiser forward and one backward per grid step.
    """

    name = "dps"
    needs_problem = True

    def __init__(self, prior, steps: int = 1000, zeta: float = 1.0, eta: float = 1.0, dtype=torch.float32):
        super().__init__(prior, steps, eta, dtype)
        if zeta < 0:
            raise ValueError(f"zeta must be >= 0, got {zeta}")
        self.zeta = zeta

    @classmethod
    def from_config(cls, prior, config: DPSConfig, **_) -> DPS:
        return cls(prior, steps=config.steps, zeta=config.dps_zeta)

    def step(self, state: DDIMState, step, index: int, ctx: Context) -> DDIMState:
        t, t_prev = step
        x_t = state.x.detach().requires_grad_(True)
        x0 = ctx.denoise(x_t, t)
        resid = ctx.problem.noise.dps_residual(ctx.problem.operator.forward(x0), ctx.problem.y).flatten(1)
        sq = (resid * resid).sum(1)
        (grad,) = torch.autograd.grad(sq.sum(), x_t)  # sum over the batch: sample i's grad is its own
        norm = sq.detach().sqrt().clamp_min(1e-12).reshape(-1, *([1] * (x_t.ndim - 1)))
        with torch.no_grad():
            x = ddim_step(self.schedule, x_t, x0, t, t_prev, self.eta, ctx.randn())
            x = x - self.zeta * grad / norm
        return DDIMState(x=x.detach(), x0=x0.detach())

    def finish(self, state: DDIMState, ctx: Context) -> torch.Tensor:
        return state.x
