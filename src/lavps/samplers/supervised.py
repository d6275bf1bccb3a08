"""The supervised amortized baseline at test time: plain DDIM with a conditional denoiser, no likelihood.

docs/METHOD.md section 6. The prior's D(x_t, t) is corrected by a network trained on (x, y) pairs of the
in-distribution family (`lavps.training.supervised`); nothing here evaluates the likelihood.
"""

from __future__ import annotations

import torch

from ..amortize.network import amortizer_inputs, check_compatible, time_code
from ..device import prior_device
from ..diffusion import ddim_step
from .base import Context
from .configs import SupervisedConfig
from .ddim import DDIM, DDIMState

__all__ = ["SupervisedDDIM", "SupervisedConfig"]


class SupervisedDDIM(DDIM):
    """x_{T_{i-1}} ~ q_{T_{i-1}|0,T_i}(. | D_psi(x_{T_i}, T_i, y), x_{T_i}).

    Cost per step: one prior forward (the residual's base) and one network forward.

    Args:
        prior: the diffusion prior the network was trained on.
        network: a trained `lavps.amortize.ConditionalDenoiser`.
        steps: DDIM grid size N; eta: DDIM stochasticity (1 = ancestral).
    """

    name = "supervised"
    needs_problem = True

    def __init__(self, prior, network, steps: int = 100, eta: float = 1.0, dtype=torch.float32):
        super().__init__(prior, steps, eta, dtype)
        if not hasattr(network, "denoise") or not hasattr(network, "config"):
            raise TypeError(f"network must be a lavps.amortize.ConditionalDenoiser, got {type(network).__name__}")
        check_compatible(network, prior, source="the supervised network")
        self.network = network.to(prior_device(prior))

    @classmethod
    def from_config(cls, prior, config: SupervisedConfig, supervised=None, **_) -> SupervisedDDIM:
        if supervised is None:
            raise ValueError("sampler 'supervised' needs a supervised network: a trained network or its file")
        return cls(prior, supervised, steps=config.steps)

    def step(self, state: DDIMState, step, index: int, ctx: Context) -> DDIMState:
        t, t_prev = step
        b = state.x.shape[0]
        with torch.no_grad():
            x0_prior = ctx.denoise(state.x, t)
            y_img = amortizer_inputs(self.network.input_kind, ctx.problem, x0_prior)
            code = time_code(self.schedule, t, b, state.x.dtype, state.x.device)
            x0 = self.network.denoise(state.x, x0_prior, y_img, code)
            ctx.denoise.amortizer_forwards += 1
            x = ddim_step(self.schedule, state.x, x0, t, t_prev, self.eta, ctx.randn())
        return DDIMState(x=x, x0=x0 if t_prev > 0 else x)
