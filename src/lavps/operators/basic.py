"""Vector operators: identity (denoising), a dense matrix, coordinate masking."""

from __future__ import annotations

import torch

from .base import LinearOperator
from .svd import DiagonalSVD, MatrixSVD

__all__ = ["Identity", "DenseMatrix", "Mask"]


class Identity(LinearOperator):
    """A = I: denoising."""

    name = "identity"
    saved_kind = "identity"

    def __init__(self, shape: tuple[int, ...]):
        self.in_shape = self.out_shape = tuple(shape)

    @classmethod
    def from_saved(cls, shape, meta, tensors) -> Identity:
        return cls(shape)

    def forward(self, x):
        self.check_input(x)
        return x

    def adjoint(self, y):
        self.check_observation(y)
        return y

    def pinv(self, y):
        return self.adjoint(y)

    def gram_diagonal(self) -> torch.Tensor:
        return torch.ones(1, *self.in_shape, dtype=torch.float64)

    def svd(self) -> DiagonalSVD:
        """U = V = I, s = 1."""
        return DiagonalSVD(torch.ones(1, *self.in_shape, dtype=torch.float64))


class DenseMatrix(LinearOperator):
    """A dense matrix, shared (d_y, d) or per sample (B, d_y, d), acting on flat vectors."""

    name = "dense"

    def __init__(self, matrix: torch.Tensor):
        _check_tensor(matrix, "matrix")
        if matrix.ndim not in (2, 3):
            raise ValueError(f"matrix must have shape (d_y, d) or (B, d_y, d), got {tuple(matrix.shape)}")
        if not torch.isfinite(matrix).all():
            raise ValueError("matrix contains NaN or inf")
        self.matrix = matrix
        self.batch_size = matrix.shape[0] if matrix.ndim == 3 else None
        self.in_shape = (matrix.shape[-1],)
        self.out_shape = (matrix.shape[-2],)
        self._pinv_matrix: torch.Tensor | None = None

    def _dtype(self):
        return self.matrix.dtype

    def _mat(self, x: torch.Tensor) -> torch.Tensor:
        return self.matrix.to(x.dtype).to(x.device)

    def forward(self, x):
        self.check_input(x)
        m = self._mat(x)
        return x @ m.T if m.ndim == 2 else torch.einsum("bod,bd->bo", m, x)

    def adjoint(self, y):
        self.check_observation(y)
        m = self._mat(y)
        return y @ m if m.ndim == 2 else torch.einsum("bod,bo->bd", m, y)

    def pinv(self, y):
        self.check_observation(y)
        if self._pinv_matrix is None:  # cache: computed once in float64, the operator itself is unchanged
            self._pinv_matrix = torch.linalg.pinv(self.matrix.double())
        p = self._pinv_matrix.to(y.dtype).to(y.device)
        return y @ p.T if p.ndim == 2 else torch.einsum("bdo,bo->bd", p, y)

    def gram_diagonal(self) -> torch.Tensor:
        """Squared column norms of the matrix."""
        m = self.matrix.double()
        return (m * m).sum(-2).reshape(-1, *self.in_shape)

    def svd(self) -> MatrixSVD:
        """torch.linalg.svd of the (shared or per-sample) matrix, float64."""
        return MatrixSVD(self.matrix)

    def as_matrix(self):
        if self.batch_size is not None:
            raise ValueError("as_matrix() needs an operator shared by the batch")
        return self.matrix.double()


class Mask(LinearOperator):
    """Coordinate masking (inpainting): A x = m * x with m in {0, 1}, observation zero-filled.

    The mask has the signal's shape (shared) or (B, *shape) (per sample). Unobserved observation
    entries are always zero (`restrict` zeroes the noise there too), so the likelihood counts only
    observed entries. A is an orthogonal projection: A^T = A^+ = A.
    """

    name = "mask"
    saved_kind = "mask"

    def saved_state(self) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
        return {}, {"mask": self.mask.contiguous()}

    @classmethod
    def from_saved(cls, shape, meta, tensors) -> Mask:
        return cls(tensors["mask"], shape)

    def __init__(self, mask: torch.Tensor, signal_shape: tuple[int, ...] | None = None):
        _check_tensor(mask, "mask")
        signal_shape = tuple(mask.shape) if signal_shape is None else tuple(signal_shape)
        if tuple(mask.shape) == signal_shape:
            self.batch_size = None
        elif tuple(mask.shape[1:]) == signal_shape:
            self.batch_size = mask.shape[0]
        else:
            raise ValueError(f"mask of shape {tuple(mask.shape)} does not fit signals of shape {signal_shape}")
        if not bool(((mask == 0) | (mask == 1)).all()):
            raise ValueError("mask entries must be 0 or 1")
        if self.batch_size is None and not bool(mask.any()):  # e.g. a box on a one-pixel-high image
            raise ValueError(f"the mask observes no entry of the {signal_shape} signal: y would carry nothing")
        self.mask = mask.to(torch.float32)
        self.in_shape = self.out_shape = signal_shape

    def _m(self, x):
        return self.mask.to(x.dtype).to(x.device)

    def forward(self, x):
        self.check_input(x)
        return self._m(x) * x

    def adjoint(self, y):
        self.check_observation(y)
        return self._m(y) * y

    def pinv(self, y):
        return self.adjoint(y)

    def restrict(self, y):
        return self._m(y) * y

    def gram_diagonal(self) -> torch.Tensor:
        """The mask itself (A^T A = A)."""
        m = self.mask.to(torch.float64)
        return m[None] if self.batch_size is None else m

    def svd(self) -> DiagonalSVD:
        """U = V = I, s = the mask."""
        m = self.mask.to(torch.float64)
        return DiagonalSVD(m[None] if self.batch_size is None else m)

    def _dtype(self):
        return torch.float64


def _check_tensor(value, name: str) -> None:
    """One clear line for a NumPy array (or a list) where a tensor is expected, not an AttributeError inside."""
    if not isinstance(value, torch.Tensor):
        got = type(value).__name__
        raise TypeError(f"{name} must be a torch.Tensor (torch.from_numpy(a) for a NumPy array), got {got}")
