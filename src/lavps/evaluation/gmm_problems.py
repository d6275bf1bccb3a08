"""Seeded exact-posterior problems on the 25-component Gaussian-mixture prior (docs/METHOD.md section 7)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..operators import GaussianNoise, InverseProblem, LinearOperator, OperatorFamily
from ..operators.families import CoordinateMaskFamily, DenseFamily
from ..priors.gmm import GaussianMixturePrior, MixturePosterior, grid_mixture

__all__ = ["GMMProblem", "make_gmm_problem", "operator_family"]

FAMILIES = ("dense", "mask")


@dataclass(frozen=True)
class GMMProblem:
    """One benchmark problem: a prior with fresh weights, A, x*, y, and the exact posterior."""

    prior: GaussianMixturePrior
    problem: InverseProblem
    x_star: torch.Tensor
    posterior: MixturePosterior


def operator_family(kind: str, dim: int, obs_dim: int) -> OperatorFamily:
    """'dense': Gaussian rows with N(0, 1) entries; 'mask': obs_dim observed coordinates."""
    if kind == "dense":
        return DenseFamily(dim, obs_dim, scale=1.0)
    if kind == "mask":
        return CoordinateMaskFamily(dim, obs_dim)
    raise ValueError(f"unknown operator family {kind!r}; allowed: {', '.join(FAMILIES)}")


def make_gmm_problem(dim: int, obs_dim: int, seed: int, sigma: float = 1.0, family: str = "dense") -> GMMProblem:
    """Draw prior weights, an operator, x* ~ prior and y = A x* + sigma n from one seeded generator."""
    g = torch.Generator().manual_seed(int(seed) * 1_000_003 + dim * 1009 + obs_dim)
    prior = grid_mixture(dim, generator=g)
    op: LinearOperator = operator_family(family, dim, obs_dim).sample_one(g)
    x_star = prior.sample(1, g)
    noise = GaussianNoise(sigma)
    y = noise.measure(x_star, op, torch.randn(1, *op.out_shape, generator=g))
    problem = InverseProblem(y, op, noise)
    return GMMProblem(prior, problem, x_star, prior.posterior(y[0], op, sigma))
