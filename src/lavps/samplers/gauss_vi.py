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
    budget: torch.Tensor | None = None,
    rel_tol: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimise negative_elbo over (mu, rho) with at most `steps` Adam steps; returns detached (mu, rho).

    Each step costs one denoiser forward and one backward. The loss is summed over the batch, and Adam
    acts elementwise, so sample i's trajectory never depends on its batch-mates.

    whiten: optimise u = (mu - m) / s and r = rho - log s instead of (mu, rho). Adam's step is about
    lr per coordinate whatever the gradient's scale, so in raw coordinates one lr overshoots at low
    noise (s << lr) and crawls at high noise; in whitened coordinates lr is a fraction of the bridge
    prior's std at every noise level. Same objective, same minimiser.

    Adaptive budget (per sample): `budget` (a (B,) integer tensor, each <= steps) caps sample i's steps,
    and rel_tol > 0 stops sample i at the first step whose loss fell by less than rel_tol x |its previous
    loss| (that step's update is not applied). A stopped sample's parameters stay as they are.
    Every call draws `steps` noise tensors whatever the stops, so each sample's noise stream, and
    hence everything after this call, is the same as if it ran alone; the forwards stop when every
    sample of the batch has stopped.
    """
    if steps < 0 or rel_tol < 0:
        raise ValueError(f"need steps >= 0 and rel_tol >= 0, got {steps}, {rel_tol}")
    if budget is not None and (budget.shape != mu.shape[:1] or bool((budget > steps).any())):
        raise ValueError(f"budget must have shape ({mu.shape[0]},) and entries <= steps = {steps}")
    if whiten:
        m, log_s = bridge.mean, bridge.log_std
        s = log_s.exp()
        a, b = (mu.detach() - m) / s, rho.detach() - log_s

        def to_natural(a, b):
            return m + s * a, log_s + b
    else:
        a, b = mu.detach(), rho.detach()

        def to_natural(a, b):
            return a, b

    a, b = a.clone().requires_grad_(True), b.clone().requires_grad_(True)
    if steps > 0:
        opt = torch.optim.Adam([a, b], lr=lr)
        adaptive = budget is not None or rel_tol > 0
        stopped = torch.zeros(a.shape[0], dtype=torch.bool, device=a.device)
        previous = None
        for k in range(steps):
            z = ctx.randn()
            if bool(stopped.all()):
                continue  # the draw keeps every stream aligned; no forward
            opt.zero_grad(set_to_none=True)
            loss = negative_elbo(*to_natural(a, b), z, bridge, tau, ctx.denoise, ctx.problem)
            if adaptive:
                stopped = stopped | _stops(k, loss.detach(), previous, budget, rel_tol)
                previous = loss.detach()
                if bool(stopped.all()):
                    continue
            loss.sum().backward()
            frozen = _snapshot(opt, stopped) if adaptive and bool(stopped.any()) else None
            opt.step()
            if frozen is not None:
                _restore(frozen, stopped)
    mu, rho = to_natural(a.detach(), b.detach())
    return mu.detach(), rho.detach()


def _stops(k: int, loss, previous, budget, rel_tol: float) -> torch.Tensor:
    """Samples that take no step k: their budget is spent, or their loss stopped falling."""
    out = torch.zeros_like(loss, dtype=torch.bool)
    if budget is not None:
        out |= budget.to(loss.device) <= k
    if rel_tol > 0 and previous is not None:
        out |= (previous - loss) < rel_tol * previous.abs()
    return out


def _snapshot(opt: torch.optim.Optimizer, rows: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Copies of the stopped samples' parameters, put back after the step. Their Adam moments need no
    copy: a stopped sample never steps again, and the others have all stepped every time (one shared
    bias-correction count stays right for them)."""
    return [(p, p.detach()[rows].clone()) for p in opt.param_groups[0]["params"]]


def _restore(frozen, rows: torch.Tensor) -> None:
    with torch.no_grad():
        for p, values in frozen:
            p[rows] = values


def draw_from(mu: torch.Tensor, rho: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """x = mu + exp(rho) z."""
    return mu + rho.exp() * z
