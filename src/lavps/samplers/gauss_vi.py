"""Gauss-VI inner solver: Adam on the negative ELBO from a given start (fresh optimiser per call)."""

from __future__ import annotations

import torch

from ..diffusion import Time
from ..objective import BridgePrior, negative_elbo
from .base import Context

__all__ = ["fit_gauss_vi", "draw_from"]


def fit_gauss_vi(
    ctx: Context,
    bridge: BridgePrior,
    tau: Time,
    mu: torch.Tensor,
    rho: torch.Tensor,
    steps: int,
    lr: float,
    whiten: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimise negative_elbo over (mu, rho) with `steps` Adam steps; returns detached (mu, rho).

    Each step costs one denoiser forward and one backward. The loss is summed over the batch, and Adam
    acts elementwise, so sample i's trajectory never depends on its batch-mates.

    whiten: optimise u = (mu - m) / s and r = rho - log s instead of (mu, rho). Adam's step is about
    lr per coordinate whatever the gradient's scale, so in raw coordinates one lr overshoots at low
    noise (s << lr) and crawls at high noise; in whitened coordinates lr is a fraction of the bridge
    prior's std at every noise level. Same objective, same minimiser.
    """
    if not whiten:
        mu = mu.detach().clone().requires_grad_(True)
        rho = rho.detach().clone().requires_grad_(True)
        if steps > 0:
            opt = torch.optim.Adam([mu, rho], lr=lr)
            for _ in range(steps):
                opt.zero_grad(set_to_none=True)
                loss = negative_elbo(mu, rho, ctx.randn(), bridge, tau, ctx.denoise, ctx.problem)
                loss.sum().backward()
                opt.step()
        return mu.detach(), rho.detach()
    m, log_s = bridge.mean, bridge.log_std
    s = log_s.exp()
    u = ((mu.detach() - m) / s).requires_grad_(True)
    r = (rho.detach() - log_s).requires_grad_(True)
    if steps > 0:
        opt = torch.optim.Adam([u, r], lr=lr)
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = negative_elbo(m + s * u, log_s + r, ctx.randn(), bridge, tau, ctx.denoise, ctx.problem)
            loss.sum().backward()
            opt.step()
    return (m + s * u).detach(), (log_s + r).detach()


def draw_from(mu: torch.Tensor, rho: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """x = mu + exp(rho) z."""
    return mu + rho.exp() * z
