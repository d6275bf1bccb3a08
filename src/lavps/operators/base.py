"""The linear operator contract: forward, adjoint, pseudo-inverse, batch-first.

A subclass overrides what it knows in closed form; the rest is derived here. Operator parameters
may be shared by the batch or given per sample (leading axis = batch); `batch_size` says which.
Operators are pure functions of their inputs and their parameters: nothing mutates them.
"""

from __future__ import annotations

import math

import torch

from .cg import conjugate_gradient
from .svd import SVD, NoCheapSVDError

__all__ = ["LinearOperator", "OperatorShapeError"]


class OperatorShapeError(ValueError):
    """A signal or observation does not have the shape an operator expects."""


class LinearOperator:
    """A linear map A from signals of shape (B, *in_shape) to observations of shape (B, *out_shape)."""

    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    #: None if the parameters are shared by every sample, else the number of per-sample operators.
    batch_size: int | None = None
    #: short human-readable name used in reports
    name: str = "operator"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def pinv(self, y: torch.Tensor) -> torch.Tensor:
        """Moore-Penrose pseudo-inverse A^+ y; default: least squares by conjugate gradients on A^T A."""
        return self._pinv_cg(y)

    def svd(self) -> SVD:
        """Exact A = U diag(s) V^T (see operators/svd.py); raises NoCheapSVDError if there is no cheap one."""
        raise NoCheapSVDError(f"operator {self.name} has no cheap SVD; use dps/mgdm/lavps/diffpir")

    @property
    def has_svd(self) -> bool:
        """Whether `svd()` is available (overridden by the operators that have one)."""
        return type(self).svd is not LinearOperator.svd

    def restrict(self, y: torch.Tensor) -> torch.Tensor:
        """Zero the observation entries that carry no measurement (masks); identity otherwise."""
        return y

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x)

    # ---- derived helpers ----------------------------------------------------------------
    @property
    def in_dim(self) -> int:
        return math.prod(self.in_shape)

    @property
    def out_dim(self) -> int:
        return math.prod(self.out_shape)

    def check_input(self, x: torch.Tensor) -> None:
        if tuple(x.shape[1:]) != tuple(self.in_shape):
            raise OperatorShapeError(
                f"{self.name} expects signals of shape (B, {', '.join(map(str, self.in_shape))}), got {tuple(x.shape)}"
            )
        self._check_batch(x.shape[0])

    def check_observation(self, y: torch.Tensor) -> None:
        if tuple(y.shape[1:]) != tuple(self.out_shape):
            raise OperatorShapeError(
                f"{self.name} produces observations of shape (B, {', '.join(map(str, self.out_shape))}), "
                f"got {tuple(y.shape)}"
            )
        self._check_batch(y.shape[0])

    def _check_batch(self, b: int) -> None:
        if self.batch_size is not None and b != self.batch_size:
            raise OperatorShapeError(f"{self.name} holds {self.batch_size} per-sample operators, got a batch of {b}")

    def as_matrix(self) -> torch.Tensor:
        """Dense matrix (out_dim, in_dim) of a shared operator, float64 (for small problems only)."""
        if self.batch_size is not None:
            raise ValueError("as_matrix() needs an operator shared by the batch")
        eye = torch.eye(self.in_dim, dtype=torch.float64).reshape(self.in_dim, *self.in_shape)
        cols = self.forward(eye.to(self._dtype())).double().reshape(self.in_dim, self.out_dim)
        return cols.T.contiguous()

    def _dtype(self) -> torch.dtype:
        return torch.float64

    def _pinv_cg(self, y: torch.Tensor, iters: int = 50, tol: float = 1e-6) -> torch.Tensor:
        """Minimum-norm least squares by CG on the normal equations (starting from 0 keeps minimum norm)."""
        return conjugate_gradient(lambda v: self.adjoint(self.forward(v)), self.adjoint(y), iters=iters, tol=tol)
