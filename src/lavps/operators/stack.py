"""Per-sample operators gathered into one batched operator: sample i goes through operator i.

    (A x)_i = A_i x_i,   (A^T y)_i = A_i^T y_i,   (A^+ y)_i = A_i^+ y_i

Used where every sample has its own operator drawn from its own seed (folder restoration with
`--simulate`), so that sample i never depends on its batch-mates.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .base import LinearOperator
from .svd import NoCheapSVDError, StackedSVD

__all__ = ["StackedOperator"]


class StackedOperator(LinearOperator):
    """B operators sharing in/out shapes, each applied to its own row of the batch."""

    def __init__(self, operators: Sequence[LinearOperator]):
        ops = list(operators)
        if not ops:
            raise ValueError("StackedOperator needs at least one operator")
        shapes = {(tuple(o.in_shape), tuple(o.out_shape)) for o in ops}
        if len(shapes) != 1:
            raise ValueError(f"operators of a stack must share their shapes, got {sorted(shapes)}")
        if any(o.batch_size not in (None, 1) for o in ops):
            raise ValueError("every operator of a stack must act on one sample (shared or batch size 1)")
        self.operators = ops
        self.in_shape, self.out_shape = shapes.pop()
        self.batch_size = len(ops)
        self.name = ops[0].name if len({o.name for o in ops}) == 1 else "stack"

    def _map(self, method: str, v: torch.Tensor) -> torch.Tensor:
        self._check_batch(v.shape[0])
        return torch.cat([getattr(o, method)(v[i : i + 1]) for i, o in enumerate(self.operators)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._map("forward", x)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        return self._map("adjoint", y)

    def pinv(self, y: torch.Tensor) -> torch.Tensor:
        return self._map("pinv", y)

    def restrict(self, y: torch.Tensor) -> torch.Tensor:
        return self._map("restrict", y)

    def svd(self) -> StackedSVD:
        """Member i's SVD for row i (every member needs one, of one spectral shape)."""
        missing = [o.name for o in self.operators if not o.has_svd]
        if missing:
            raise NoCheapSVDError(f"operator {missing[0]} of the stack has no cheap SVD; use dps/mgdm/lavps/diffpir")
        return StackedSVD([o.svd() for o in self.operators])

    def gram_diagonal(self) -> torch.Tensor:
        return torch.cat([o.gram_diagonal()[:1] for o in self.operators])

    def _dtype(self) -> torch.dtype:
        return self.operators[0]._dtype()
