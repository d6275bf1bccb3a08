"""The regularised least-squares step (the proximal step of the Gaussian likelihood used by DiffPIR):
    argmin_z ||y - A z||^2 + rho ||z - anchor||^2 = (A^T A + rho I)^{-1} (A^T y + rho anchor),
in closed form through an SVD when one is given, otherwise by conjugate gradients.
"""

from __future__ import annotations

import torch

from .base import LinearOperator
from .cg import conjugate_gradient
from .svd import SVD

__all__ = ["regularized_least_squares"]


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
    (A^T A + rho I) z = A^T y + rho anchor started at the anchor, in float64.
    """
    if not rho > 0:
        raise ValueError(f"rho must be > 0, got {rho}")
    if svd is not None:
        za, zy = svd.vt(anchor), svd.ut(y)
        s = svd.s(za)
        return svd.v((s * zy + rho * za) / (s * s + rho))
    y64, anchor64 = y.double(), anchor.double()  # float64: CG on a badly conditioned system (small rho)
    b = operator.adjoint(y64) + rho * anchor64
    z = conjugate_gradient(lambda p: operator.adjoint(operator.forward(p)) + rho * p, b, anchor64, iters, tol)
    return z.to(anchor.dtype)
