"""Gaussian observation model and the inverse problem a sampler is called with."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .base import LinearOperator, OperatorShapeError

__all__ = ["GaussianNoise", "InverseProblem"]


@dataclass(frozen=True)
class GaussianNoise:
    """y = A x + sigma n, n ~ N(0, I). log g_y(x) = -||y - A x||^2 / (2 sigma^2) per sample."""

    sigma: float

    def __post_init__(self):
        if not (isinstance(self.sigma, (int, float)) and math.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"noise level sigma_y must be a finite number > 0, got {self.sigma!r}")

    def measure(self, x: torch.Tensor, operator: LinearOperator, noise: torch.Tensor) -> torch.Tensor:
        """y = A x + sigma * restrict(noise) for a given standard normal tensor of A x's shape."""
        ax = operator.forward(x)
        return ax + self.sigma * operator.restrict(noise.to(ax.dtype))

    def log_likelihood(self, x: torch.Tensor, y: torch.Tensor, operator: LinearOperator) -> torch.Tensor:
        r = (y - operator.forward(x)).flatten(1)
        return -(r * r).sum(1) / (2.0 * self.sigma**2)


@dataclass(frozen=True)
class InverseProblem:
    """An observation y (B, *out_shape), the operator that made it and the noise model.

    Validated on construction: finite y, a shape the operator produces, a batch the operator fits.
    A single observation (batch 1) is broadcast to any number of posterior samples by `expand`.
    """

    y: torch.Tensor
    operator: LinearOperator
    noise: GaussianNoise

    def __post_init__(self):
        if not isinstance(self.y, torch.Tensor):
            raise TypeError(f"y must be a torch.Tensor, got {type(self.y).__name__}")
        if not torch.isfinite(self.y).all():
            bad = int((~torch.isfinite(self.y)).sum())
            raise ValueError(f"observation y contains {bad} NaN or inf entries")
        self.operator.check_observation(self.y)

    @property
    def sigma(self) -> float:
        return self.noise.sigma

    def check_signal_shape(self, shape: tuple[int, ...]) -> None:
        """Raise if the operator does not act on signals of the prior's shape."""
        if tuple(self.operator.in_shape) != tuple(shape):
            raise OperatorShapeError(
                f"operator {self.operator.name} acts on signals of shape {tuple(self.operator.in_shape)}, "
                f"but the prior's signals have shape {tuple(shape)}"
            )

    def expand(self, batch_size: int) -> InverseProblem:
        """The same problem with y repeated for batch_size samples (y must hold 1 or batch_size rows)."""
        if self.y.shape[0] == batch_size:
            return self
        if self.y.shape[0] != 1:
            raise OperatorShapeError(f"y holds {self.y.shape[0]} observations, cannot serve a batch of {batch_size}")
        return InverseProblem(self.y.expand(batch_size, *self.y.shape[1:]), self.operator, self.noise)

    def log_likelihood(self, x: torch.Tensor) -> torch.Tensor:
        """log g_y(x) per sample, shape (B,)."""
        return self.noise.log_likelihood(x, self.y, self.operator)

    def likelihood_gradient(self, x: torch.Tensor) -> torch.Tensor:
        """grad_x log g_y(x) = A^T (y - A x) / sigma^2 in closed form (no autograd)."""
        return self.operator.adjoint(self.y - self.operator.forward(x)) / self.sigma**2

    def y_signal(self) -> torch.Tensor:
        """The observation brought into signal space by the pseudo-inverse, A^+ y."""
        return self.operator.pinv(self.y)
