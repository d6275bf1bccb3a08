"""Linear solves shared by the samplers: conjugate gradients and the regularised least-squares step.

`regularized_least_squares` is the proximal step of the Gaussian likelihood used by DiffPIR:
    argmin_z ||y - A z||^2 + rho ||z - anchor||^2 = (A^T A + rho I)^{-1} (A^T y + rho anchor),
in closed form through an SVD when one is given, otherwise by conjugate gradients.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .base import LinearOperator
from .svd import SVD

__all__ = ["conjugate_gradient", "regularized_least_squares"]


def conjugate_gradient(
    apply: Callable[[torch.Tensor], torch.Tensor],
    b: torch.Tensor,
    x0: torch.Tensor,
    iters: int = 50,
    tol: float = 1e-6,
) -> torch.Tensor:
    """Solve M x = b for a symmetric positive (semi-)definite M, per sample (leading axis = batch).

    Sample i stops updating once its residual ||b_i - M x_i|| <= tol ||b_i - M x0_i||, so its result
    does not depend on when its batch-mates converge. Returns x with b's shape.
    """
    dims = tuple(range(1, b.ndim))
    x = x0.clone()
    r = b - apply(x)
    p = r.clone()
    rs = (r * r).sum(dims, keepdim=True)
    target = tol**2 * rs.clamp_min(1e-30)
    active = rs > target
    for _ in range(iters):
        if not bool(active.any()):
            break
        ap = apply(p)
        alpha = torch.where(active, rs / (p * ap).sum(dims, keepdim=True).clamp_min(1e-30), 0.0)
        x = x + alpha * p
        r = r - alpha * ap
        rs_new = (r * r).sum(dims, keepdim=True)
        p = torch.where(active, r + (rs_new / rs.clamp_min(1e-30)) * p, p)
        rs = torch.where(active, rs_new, rs)
        active = active & (rs > target)
    return x


def regularized_least_squares(
    operator: LinearOperator,
    y: torch.Tensor,
    anchor: torch.Tensor,
    rho: float,
    svd: SVD | None = None,
    iters: int = 100,
    tol: float = 1e-6,
) -> torch.Tensor:
    """argmin_z ||y - A z||^2 + rho ||z - anchor||^2 per sample; rho > 0.

    With svd: z = V ((s U^T y + rho V^T anchor) / (s^2 + rho)) exactly. Without: CG on
    (A^T A + rho I) z = A^T y + rho anchor started at the anchor.
    """
    if not rho > 0:
        raise ValueError(f"rho must be > 0, got {rho}")
    if svd is not None:
        za, zy = svd.vt(anchor), svd.ut(y)
        s = svd.s(za)
        return svd.v((s * zy + rho * za) / (s * s + rho))
    b = operator.adjoint(y) + rho * anchor
    return conjugate_gradient(lambda p: operator.adjoint(operator.forward(p)) + rho * p, b, anchor, iters, tol)
