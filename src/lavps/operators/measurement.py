"""The measurement protocol: a differentiable forward map y = A(x), batch-first, linear or not.

`Measurement` holds what every forward map shares (shapes, per-sample batch, shape checks) and derives
the Jacobian products that guidance needs from autograd: `linearize(x)` returns A(x) together with
v -> J v and w -> J^T w at x (Gauss-Newton). `LinearOperator` is a Measurement whose Jacobian is
itself (exact products, no autograd), so every linear operator satisfies the protocol as it is.
docs/measurements.md lists the built-in non-linear maps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

__all__ = ["Measurement", "Linearization", "OperatorShapeError"]


class OperatorShapeError(ValueError):
    """A signal or observation does not have the shape an operator expects."""


@dataclass(frozen=True)
class Linearization:
    """A(x) and its Jacobian products at one point x (all batch-first; sample i only sees sample i).

    Attributes:
        value: A(x), (B, *out_shape).
        jvp: v (B, *in_shape) -> J v (B, *out_shape).
        vjp: w (B, *out_shape) -> J^T w (B, *in_shape).
    """

    value: torch.Tensor
    jvp: Callable[[torch.Tensor], torch.Tensor]
    vjp: Callable[[torch.Tensor], torch.Tensor]


class Measurement:
    """A forward map A from signals (B, *in_shape) to observations (B, *out_shape).

    Subclasses implement `forward` (differentiable: used for guidance) and may override
    `exact_forward` (used to simulate observations, e.g. the real JPEG codec). Parameters may be
    shared by the batch or given per sample (leading axis = batch); `batch_size` says which.
    """

    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    #: None if the parameters are shared by every sample, else the number of per-sample maps.
    batch_size: int | None = None
    #: short human-readable name used in reports
    name: str = "measurement"
    #: canonical spec of the family that drew this map (kept by operator files; a mask file that hides one box:
    #: that box's `rect` spec); None when unknown.
    family: str | None = None
    #: True for linear operators: exact Jacobian products, closed-form samplers (DDRM, DiffPIR) apply
    is_linear: bool = False
    #: False where y is not an image (Fourier magnitudes): cropping or resizing it (--fit) would make another y
    image_output: bool = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def exact_forward(self, x: torch.Tensor) -> torch.Tensor:
        """The map that simulates observations; `forward` (its differentiable form) unless overridden."""
        return self.forward(x)

    def restrict(self, y: torch.Tensor) -> torch.Tensor:
        """Zero the observation entries that carry no measurement (masks); identity otherwise."""
        return y

    def output_bounds(self) -> tuple[float, float] | None:
        """(low, high) that A(x) cannot leave for any image x in [-1, 1] (None: not known). A noise-free y
        beyond them, by more than the noise, is on another scale (`lavps.inputs.check_observation_scale`)."""
        return None

    def consistent_point(self, x: torch.Tensor, y: torch.Tensor, sigma: float) -> torch.Tensor:
        """x moved to agree with y (Gaussian noise of std sigma) where the measurement alone pins a coordinate
        down and x's Jacobian is blind to the disagreement; LAVPS linearises its Gauss-Newton start there
        (`lavps.objective.gauss_newton_start`). Default: x itself."""
        return x

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x)

    def linearize(self, x: torch.Tensor) -> Linearization:
        """A(x) and J v, J^T w at x by autograd (one graph, reused by every product).

        J^T w is a backward pass; J v uses the double-backward identity J v = d/du <J^T u, v> (reverse
        mode only, so user callables need no forward-mode support).
        """
        x = x.detach().requires_grad_(True)
        with torch.enable_grad():
            value = self.forward(x)
            u = torch.zeros_like(value, requires_grad=True)
            (vjp_u,) = torch.autograd.grad(value, x, u, create_graph=True, allow_unused=False)

        def vjp(w: torch.Tensor) -> torch.Tensor:
            (out,) = torch.autograd.grad(value, x, w.to(value.dtype), retain_graph=True)
            return out

        def jvp(v: torch.Tensor) -> torch.Tensor:
            if not vjp_u.requires_grad:  # J^T u does not depend on u: A is locally constant, J = 0
                return torch.zeros_like(value)
            (out,) = torch.autograd.grad(vjp_u, u, v.to(x.dtype), retain_graph=True, allow_unused=True)
            return torch.zeros_like(value) if out is None else out

        return Linearization(value.detach(), jvp, vjp)

    # ---- shapes ---------------------------------------------------------------------------
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
