"""Random operator families: draw one operator per sample from a seeded generator."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .base import LinearOperator
from .basic import DenseMatrix, Mask

__all__ = ["OperatorFamily", "DenseFamily", "CoordinateMaskFamily", "FamilyMixture"]


class OperatorFamily:
    """Draws a batch of operators (per-sample parameters) from a torch.Generator."""

    name: str = "family"

    def sample(self, batch_size: int, generator: torch.Generator) -> LinearOperator:
        raise NotImplementedError

    def sample_one(self, generator: torch.Generator) -> LinearOperator:
        """One operator shared by a whole batch."""
        raise NotImplementedError


@dataclass(frozen=True)
class DenseFamily(OperatorFamily):
    """Dense d_y x d matrices with i.i.d. N(0, scale^2) entries (scale defaults to 1/sqrt(d))."""

    dim: int
    obs_dim: int
    scale: float | None = None

    @property
    def name(self) -> str:
        return f"dense(d_y={self.obs_dim})"

    def _scale(self) -> float:
        return self.scale if self.scale is not None else self.dim**-0.5

    def sample(self, batch_size, generator):
        m = torch.randn(batch_size, self.obs_dim, self.dim, generator=generator, dtype=torch.float64)
        return DenseMatrix((m * self._scale()).float())

    def sample_one(self, generator):
        m = torch.randn(self.obs_dim, self.dim, generator=generator, dtype=torch.float64)
        return DenseMatrix((m * self._scale()).float())


@dataclass(frozen=True)
class CoordinateMaskFamily(OperatorFamily):
    """Observe `observed` coordinates chosen uniformly at random (zero-filled layout)."""

    dim: int
    observed: int

    @property
    def name(self) -> str:
        return f"mask(d_y={self.observed})"

    def __post_init__(self):
        if not 0 < self.observed <= self.dim:
            raise ValueError(f"observed must be in [1, {self.dim}], got {self.observed}")

    def _mask(self, generator):
        idx = torch.randperm(self.dim, generator=generator)[: self.observed]
        m = torch.zeros(self.dim)
        m[idx] = 1.0
        return m

    def sample(self, batch_size, generator):
        return Mask(torch.stack([self._mask(generator) for _ in range(batch_size)]), (self.dim,))

    def sample_one(self, generator):
        return Mask(self._mask(generator), (self.dim,))


@dataclass(frozen=True)
class FamilyMixture(OperatorFamily):
    """A mixture of operator families: every call picks ONE member uniformly at random (from the same
    generator) and draws the whole batch from it, so a batch holds operators of one kind while training
    sees every kind. Its name joins the members' names with ','."""

    families: tuple[OperatorFamily, ...]

    def __post_init__(self):
        if len(self.families) < 1:
            raise ValueError("a family mixture needs at least one family")

    @property
    def name(self) -> str:
        return ",".join(f.name for f in self.families)

    def _pick(self, generator: torch.Generator) -> OperatorFamily:
        return self.families[int(torch.randint(len(self.families), (), generator=generator))]

    def sample(self, batch_size, generator):
        return self._pick(generator).sample(batch_size, generator)

    def sample_one(self, generator):
        return self._pick(generator).sample_one(generator)
