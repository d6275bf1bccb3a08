"""DDIM / DDPM ancestral sampling of the prior (the unconditional baseline).

Song, Meng, Ermon, "Denoising Diffusion Implicit Models" (ICLR 2021), arXiv:2010.02502.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..diffusion import ddim_step, uniform_grid
from .base import Context, Sampler
from .configs import DDIMConfig

__all__ = ["DDIM", "DDIMConfig", "DDIMState"]


@dataclass
class DDIMState:
    """x at the current grid time and the last clean estimate."""

    x: torch.Tensor
    x0: torch.Tensor


class DDIM(Sampler):
    """x_{T_{i-1}} ~ q_{T_{i-1} | 0, T_i}(. | D(x_{T_i}), x_{T_i}) on a uniform grid of N points."""

    name = "ddim"
    needs_problem = False

    def __init__(self, prior, steps: int = 100, eta: float = 1.0, dtype=torch.float32):
        super().__init__(prior, dtype)
        self.grid = uniform_grid(steps, self.schedule.num_steps)
        self.eta = eta

    @classmethod
    def from_config(cls, prior, config: DDIMConfig, **_) -> DDIM:
        return cls(prior, steps=config.steps)

    def init(self, ctx: Context) -> DDIMState:
        x = ctx.randn()
        return DDIMState(x=x, x0=torch.zeros_like(x))

    def step(self, state: DDIMState, step, index: int, ctx: Context) -> DDIMState:
        t, t_prev = step
        with torch.no_grad():
            x0 = ctx.denoise(state.x, t)
            x = ddim_step(self.schedule, state.x, x0, t, t_prev, self.eta, ctx.randn())
        return DDIMState(x=x, x0=x0 if t_prev > 0 else x)
