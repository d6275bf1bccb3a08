"""Diffusion Posterior Sampling.

Chung, Kim, Mccann, Klasky, Ye, "Diffusion Posterior Sampling for General Noisy Inverse Problems"
(ICLR 2023), arXiv:2209.14687.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..diffusion import ddim_step, uniform_grid
from .base import Context, Sampler

__all__ = ["DPS"]


@dataclass
class _State:
    x: torch.Tensor
    x0: torch.Tensor


class DPS(Sampler):
    """x' = DDPM step from D(x_t) then x' -= zeta * grad_{x_t} ||r||^2 / ||r||, r = y - A D(x_t).

    The residual norm and so the step size are per sample: batch-mates never interact.
    Cost: one denoiser forward and one backward per grid step.
    """

    name = "dps"

    def __init__(self, prior, steps: int = 1000, zeta: float = 1.0, eta: float = 1.0, dtype=torch.float32):
        super().__init__(prior, dtype)
        if zeta < 0:
            raise ValueError(f"zeta must be >= 0, got {zeta}")
        self.grid = uniform_grid(steps, self.schedule.num_steps)
        self.zeta = zeta
        self.eta = eta

    def plan(self):
        g = self.grid.tolist()
        return [(g[i], g[i - 1]) for i in range(len(g) - 1, 0, -1)]

    def init(self, ctx: Context) -> _State:
        x = ctx.randn()
        return _State(x=x, x0=torch.zeros_like(x))

    def step(self, state: _State, step, index: int, ctx: Context) -> _State:
        t, t_prev = step
        x_t = state.x.detach().requires_grad_(True)
        x0 = ctx.denoise(x_t, t)
        resid = (ctx.problem.y - ctx.problem.operator.forward(x0)).flatten(1)
        sq = (resid * resid).sum(1)
        (grad,) = torch.autograd.grad(sq.sum(), x_t)  # sum over the batch: sample i's grad is its own
        norm = sq.detach().sqrt().clamp_min(1e-12).reshape(-1, *([1] * (x_t.ndim - 1)))
        with torch.no_grad():
            x = ddim_step(self.schedule, x_t, x0, t, t_prev, self.eta, ctx.randn())
            x = x - self.zeta * grad / norm
        return _State(x=x.detach(), x0=x0.detach())

    def finish(self, state: _State, ctx: Context) -> torch.Tensor:
        return state.x
