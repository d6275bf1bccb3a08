"""Operators from outside lavps: a pair of callables, or any object with `A(x)` and `A_adjoint(y)`.

The object convention is deepinv's `LinearPhysics` (deepinv is never imported). The callables act on
batch-first tensors: forward (B, *in_shape) -> (B, *out_shape), adjoint back. The pseudo-inverse is
least squares by conjugate gradients on A^T A (`LinearOperator._pinv_cg`). On construction the pair is
checked once on random vectors u, v (fixed seed):

    |<A u, v> - <u, A^T v>| <= rtol * ||A u|| ||v||     (per sample)

and a clear `ValueError` names the relative error when the "adjoint" is not the adjoint.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..finite import check_finite
from .base import LinearOperator, OperatorShapeError

__all__ = ["ExternalOperator", "AdjointMismatchError", "as_operator", "check_adjoint"]

TensorMap = Callable[[torch.Tensor], torch.Tensor]


class AdjointMismatchError(ValueError):
    """The given adjoint does not satisfy <A u, v> = <u, A^T v>."""


def check_adjoint(
    forward: TensorMap,
    adjoint: TensorMap,
    in_shape: tuple[int, ...],
    out_shape: tuple[int, ...],
    rtol: float = 1e-4,
    batch_size: int = 2,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
    name: str = "operator",
) -> float:
    """Largest relative adjointness error over `batch_size` random pairs; raises above `rtol`.

    Returns:
        max_i |<A u_i, v_i> - <u_i, A^T v_i>| / (||A u_i|| ||v_i||) (0 when A u = 0).
    """
    g = torch.Generator().manual_seed(20260207)
    u = torch.randn(batch_size, *in_shape, generator=g, dtype=torch.float64).to(dtype).to(device)
    v = torch.randn(batch_size, *out_shape, generator=g, dtype=torch.float64).to(dtype).to(device)
    with torch.no_grad():
        au, atv = forward(u), adjoint(v)
    _check_shape(au, (batch_size, *out_shape), f"{name}: forward")
    _check_shape(atv, (batch_size, *in_shape), f"{name}: adjoint")
    lhs = (au.double() * v.double()).flatten(1).sum(1)
    rhs = (u.double() * atv.double()).flatten(1).sum(1)
    scale = au.double().flatten(1).norm(dim=1) * v.double().flatten(1).norm(dim=1)
    rel = ((lhs - rhs).abs() / scale.clamp_min(1e-30)).max().item()
    if not rel <= rtol:  # also catches NaN
        raise AdjointMismatchError(
            f"{name}: the adjoint is not the adjoint of the forward map: |<A u, v> - <u, A^T v>| / "
            f"(||A u|| ||v||) = {rel:.3g} on random vectors (tolerance {rtol:g})"
        )
    return rel


def _check_shape(t: object, expected: tuple[int, ...], what: str) -> None:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{what} must return a torch.Tensor, got {type(t).__name__}")
    if tuple(t.shape) != tuple(expected):
        raise OperatorShapeError(f"{what} returned shape {tuple(t.shape)}, expected {tuple(expected)}")


class ExternalOperator(LinearOperator):
    """A lavps operator around user callables; pseudo-inverse by conjugate gradients.

    Args:
        forward: x (B, *in_shape) -> A x (B, *out_shape).
        adjoint: y (B, *out_shape) -> A^T y (B, *in_shape).
        in_shape: signal shape without the batch axis, e.g. (3, 64, 64).
        out_shape: observation shape; inferred from forward(zeros) when None.
        name: used in reports and errors.
        rtol: tolerance of the adjointness check; None skips it (not recommended).
        dtype, device: where the check's random vectors live (the callables' own dtype/device).
    """

    def __init__(
        self,
        forward: TensorMap,
        adjoint: TensorMap,
        in_shape: tuple[int, ...],
        out_shape: tuple[int, ...] | None = None,
        name: str = "external",
        rtol: float | None = 1e-4,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str = "cpu",
    ):
        if not (callable(forward) and callable(adjoint)):
            raise TypeError("an external operator needs two callables: forward(x) and adjoint(y)")
        self.in_shape = tuple(int(s) for s in in_shape)
        if not self.in_shape or min(self.in_shape) < 1:
            raise ValueError(f"in_shape must be a non-empty tuple of positive sizes, got {in_shape!r}")
        self._fwd, self._adj, self.name = forward, adjoint, str(name)
        self._where = torch.device(device)  # the callables' device: gram_diagonal's probes go there
        if out_shape is None:
            with torch.no_grad():
                probe = forward(torch.zeros(1, *self.in_shape, dtype=dtype, device=device))
            if not isinstance(probe, torch.Tensor) or probe.ndim < 1 or probe.shape[0] != 1:
                raise OperatorShapeError(f"{self.name}: forward must map (1, *in_shape) to a (1, ...) tensor")
            out_shape = tuple(probe.shape[1:])
        self.out_shape = tuple(int(s) for s in out_shape)
        if rtol is not None:
            self.adjoint_error = check_adjoint(
                forward, adjoint, self.in_shape, self.out_shape, rtol, dtype=dtype, device=device, name=self.name
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        out = self._fwd(x)
        _check_shape(out, (x.shape[0], *self.out_shape), f"{self.name}: forward")
        if bool(torch.isfinite(x).all()):  # a finite input: a non-finite output is the operator's
            check_finite(out, f"external operator {self.name} (forward)")
        return out

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        self.check_observation(y)
        out = self._adj(y)
        _check_shape(out, (y.shape[0], *self.in_shape), f"{self.name}: adjoint")
        if bool(torch.isfinite(y).all()):
            check_finite(out, f"external operator {self.name} (adjoint)")
        return out

    def _dtype(self) -> torch.dtype:
        return torch.float32

    def _device(self) -> torch.device:
        return self._where


def as_operator(obj, in_shape: tuple[int, ...], **kwargs) -> LinearOperator:
    """A lavps operator from a LinearOperator (returned as is), an object with `A` and `A_adjoint`
    methods (deepinv's LinearPhysics convention) or a pair (forward, adjoint) of callables.

    kwargs go to `ExternalOperator` (out_shape, name, rtol, dtype, device).
    """
    if isinstance(obj, LinearOperator):
        return obj
    if callable(getattr(obj, "A", None)) and callable(getattr(obj, "A_adjoint", None)):
        kwargs.setdefault("name", type(obj).__name__)
        return ExternalOperator(obj.A, obj.A_adjoint, in_shape, **kwargs)
    if isinstance(obj, (tuple, list)) and len(obj) == 2:
        return ExternalOperator(obj[0], obj[1], in_shape, **kwargs)
    raise TypeError(
        f"cannot make an operator from {type(obj).__name__}: give a LinearOperator, an object with "
        "A(x) and A_adjoint(y) methods, or a pair (forward, adjoint) of callables"
    )
