"""The linear operator contract: forward, adjoint, pseudo-inverse, batch-first.

A subclass overrides what it knows in closed form; the rest is derived here. Operator parameters
may be shared by the batch or given per sample (leading axis = batch); `batch_size` says which.
Operators are pure functions of their inputs and their parameters: nothing mutates them.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from .cg import conjugate_gradient
from .measurement import Linearization, Measurement, OperatorShapeError
from .svd import SVD, NoCheapSVDError

__all__ = ["LinearOperator", "OperatorShapeError", "GRAM_PROBES", "EXACT_GRAM_MAX_DIM", "SAVED_KINDS"]

#: the default `gram_diagonal` is exact up to this many signal coordinates, estimated above it
EXACT_GRAM_MAX_DIM = 4096
#: Rademacher probes of the estimated `gram_diagonal`
GRAM_PROBES = 64
#: operator file kind -> the class that reads it (filled by every class that sets `saved_kind`)
SAVED_KINDS: dict[str, type[LinearOperator]] = {}


class LinearOperator(Measurement):
    """A linear map A from signals of shape (B, *in_shape) to observations of shape (B, *out_shape).

    A Measurement whose Jacobian is A itself: `linearize` returns exact products, no autograd.
    `family` (see Measurement) is the spec that drew it (`draw_operator`); LAVPS's `auto` preset reads it.
    """

    name: str = "operator"
    is_linear: bool = True
    #: the `kind` of this class in operator files (`lavps.operators.files`); None: it cannot be saved
    saved_kind: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "saved_kind" in cls.__dict__ and cls.saved_kind is not None:
            SAVED_KINDS[cls.saved_kind] = cls

    def saved_state(self) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
        """What an operator file stores besides the image shape: (string metadata, tensors)."""
        return {}, {}

    @classmethod
    def from_saved(cls, shape: tuple[int, ...], meta: dict[str, str], tensors: dict[str, torch.Tensor]):
        """The operator of an operator file: the inverse of `saved_state`."""
        raise NotImplementedError

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

    def gram_diagonal(self) -> torch.Tensor:
        """diag(A^T A), shape (1 or B, *in_shape), float64: ||A e_j||^2 for every signal coordinate j.

        It sets the variance of the Gaussian-linearised inner solution (`lavps.objective.linearised_start`).
        Operators with a closed form override it. The default is exact (one forward pass per signal
        coordinate) up to EXACT_GRAM_MAX_DIM coordinates, else Hutchinson's estimate E[z * A^T A z]
        over GRAM_PROBES Rademacher probes from a fixed seed; either way every sample gets the SAME
        probes (sample i never depends on its batch-mates), and the result is computed once and cached.
        """
        if self._gram_cache is None:
            exact = self.in_dim <= EXACT_GRAM_MAX_DIM
            self._gram_cache = _column_diagonal(self) if exact else _hutchinson_diagonal(self)
        return self._gram_cache

    _gram_cache: torch.Tensor | None = None

    @property
    def has_svd(self) -> bool:
        """Whether `svd()` is available (overridden by the operators that have one)."""
        return type(self).svd is not LinearOperator.svd

    def linearize(self, x: torch.Tensor) -> Linearization:
        """A x with J = A: the products are the operator's own forward and adjoint."""
        return Linearization(self.forward(x), self.forward, self.adjoint)

    # ---- derived helpers ----------------------------------------------------------------
    def as_matrix(self) -> torch.Tensor:
        """Dense matrix (out_dim, in_dim) of a shared operator, float64 (for small problems only)."""
        if self.batch_size is not None:
            raise ValueError("as_matrix() needs an operator shared by the batch")
        eye = torch.eye(self.in_dim, dtype=torch.float64).reshape(self.in_dim, *self.in_shape)
        cols = self.forward(eye.to(self._dtype()).to(self._device())).double().cpu().reshape(self.in_dim, self.out_dim)
        return cols.T.contiguous()

    def _dtype(self) -> torch.dtype:
        return torch.float64

    def _device(self) -> torch.device:
        """Where the derived helpers (`as_matrix`, `gram_diagonal`) apply the operator; their results stay on the
        CPU. lavps's operators move their parameters to the input's device: the CPU; a user's callables: theirs."""
        return torch.device("cpu")

    def _pinv_cg(self, y: torch.Tensor, iters: int = 50, tol: float = 1e-6) -> torch.Tensor:
        """Minimum-norm least squares by CG on the normal equations (starting from 0 keeps minimum norm)."""
        return conjugate_gradient(lambda v: self.adjoint(self.forward(v)), self.adjoint(y), iters=iters, tol=tol)


def _column_diagonal(op: LinearOperator) -> torch.Tensor:
    """||A e_j||^2 for every coordinate j: the dense matrix's column norms for a shared operator, else one
    forward pass per coordinate (the batch shares e_j)."""
    if op.batch_size is None:
        return op.as_matrix().pow(2).sum(0).reshape(1, *op.in_shape)
    batch = op.batch_size
    out = torch.zeros(batch, op.in_dim, dtype=torch.float64)
    with torch.no_grad():
        for j in range(op.in_dim):
            e = torch.zeros(1, op.in_dim, dtype=op._dtype())
            e[0, j] = 1
            col = op.forward(e.reshape(1, *op.in_shape).expand(batch, *op.in_shape).to(op._device())).cpu()
            out[:, j] = col.double().flatten(1).pow(2).sum(1)
    return out.reshape(batch, *op.in_shape)


def _hutchinson_diagonal(op: LinearOperator, probes: int = GRAM_PROBES, seed: int = 0) -> torch.Tensor:
    """Hutchinson's estimate of diag(A^T A): mean over probes z in {-1, 1}^d of z * A^T A z (>= 0)."""
    gen = torch.Generator().manual_seed(seed)
    batch = 1 if op.batch_size is None else op.batch_size
    dtype = op._dtype()
    total = torch.zeros(batch, *op.in_shape, dtype=torch.float64)
    with torch.no_grad():
        for _ in range(probes):
            z = torch.randint(0, 2, (1, *op.in_shape), generator=gen).to(dtype) * 2 - 1
            z = z.expand(batch, *op.in_shape).to(op._device())
            total += (z * op.adjoint(op.forward(z))).double().cpu()
    return (total / probes).clamp_min(0.0)
