"""Batched conjugate gradients for symmetric positive (semi-)definite systems M x = b, per sample.

Every sample of the batch runs its own CG recursion (step sizes are per-sample inner products), and
a sample whose residual has converged is frozen, so sample i's answer never depends on its
batch-mates. Used by the pseudo-inverse fallback of `LinearOperator` (M = A^T A) and by the
Gaussian-linearised inner solution of LAVPS (M = A^T A / c + I / s^2).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["conjugate_gradient"]


def conjugate_gradient(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    b: torch.Tensor,
    x0: torch.Tensor | None = None,
    iters: int = 50,
    tol: float = 1e-6,
) -> torch.Tensor:
    """Approximately solve M x = b for every sample of the batch (leading axis).

    Args:
        matvec: x -> M x for a batch (B, *shape); M symmetric positive semi-definite per sample.
        b: right-hand side (B, *shape).
        x0: start (default 0; from 0 on a singular M, CG returns the minimum-norm solution).
        iters: maximum number of iterations (each costs one matvec).
        tol: a sample stops once ||r|| <= tol * ||b|| (relative residual).
    """
    dims = tuple(range(1, b.ndim))
    x = torch.zeros_like(b) if x0 is None else x0.clone()
    r = b - matvec(x) if x0 is not None else b.clone()
    p = r.clone()
    rs = (r * r).sum(dims, keepdim=True)
    target = (tol**2) * (b * b).sum(dims, keepdim=True)
    for _ in range(iters):
        active = rs > target
        if not bool(active.any()):
            break
        mp = matvec(p)
        alpha = torch.where(active, rs / (p * mp).sum(dims, keepdim=True).clamp_min(1e-30), torch.zeros_like(rs))
        x = x + alpha * p
        r = r - alpha * mp
        rs_new = (r * r).sum(dims, keepdim=True)
        beta = torch.where(active, rs_new / rs.clamp_min(1e-30), torch.zeros_like(rs))
        p = torch.where(active, r + beta * p, p)
        rs = torch.where(active, rs_new, rs)
    return x
