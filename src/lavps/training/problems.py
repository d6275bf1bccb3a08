"""The training problems of the amortization networks: operator families by spec, the clean signals'
scale, and one batch of (x, prior, y = A x + sigma_y n) with per-sample operators."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..diffusion import forward_sample, uniform_grid
from ..operators import GaussianNoise, InverseProblem, OperatorFamily
from ..operators.families import CoordinateMaskFamily, DenseFamily, FamilyMixture
from ..priors.specs import PriorPreset

__all__ = [
    "resolve_family",
    "prior_family",
    "family_description",
    "estimate_signal_scale",
    "draw_training_problem",
    "NoisedDraw",
    "draw_noised_problem",
]


def resolve_family(spec: str, shape: tuple[int, ...]) -> OperatorFamily:
    """Operator family by spec: vectors `dense:K[:SCALE]` (K Gaussian rows, entries N(0, SCALE^2),
    SCALE = 1 as in the benchmark) or `mask:K` (K observed coordinates); images: see operators.spec.
    Several specs separated by commas give a FamilyMixture (one member drawn per batch)."""
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if len(parts) > 1:
        return FamilyMixture(tuple(resolve_family(p, shape) for p in parts))
    if len(shape) != 1:
        from ..operators import parse_operator_spec

        return parse_operator_spec(spec, tuple(shape))
    parts, dim = spec.strip().split(":"), shape[0]
    try:
        args = [float(p) for p in parts[1:]]
    except ValueError:
        args = []
    count = int(args[0]) if args and math.isfinite(args[0]) and args[0] == int(args[0]) >= 1 else None
    scale = args[1] if len(args) == 2 else 1.0
    if parts[0] == "dense" and count and len(args) <= 2 and math.isfinite(scale) and scale > 0:
        return DenseFamily(dim, count, scale=scale)
    if parts[0] == "mask" and count and len(args) == 1:
        return CoordinateMaskFamily(dim, count)
    raise ValueError(f"unknown operator family {spec!r} for vectors; allowed: dense:K[:SCALE], mask:K (K >= 1)")


def prior_family(spec: str, prior) -> OperatorFamily:
    """`resolve_family` for a prior's signals: a latent prior's family draws operators on its DECODED
    images, applied to decode(z) (`lavps.priors.latent.LatentFamily`)."""
    from ..priors.latent import LatentFamily, LatentPrior

    if isinstance(prior, LatentPrior):
        return LatentFamily(resolve_family(spec, tuple(prior.image_shape)), prior)
    return resolve_family(spec, tuple(prior.shape))


def family_description(family: OperatorFamily) -> dict:
    return {"name": family.name, "repr": repr(family)}


def estimate_signal_scale(preset: PriorPreset, n: int = 4096, seed: int = 12345) -> float:
    """Root mean square of clean signals (a separate generator: training randomness is untouched)."""
    x, _ = preset.draw(n, torch.Generator().manual_seed(seed))
    return float(x.double().pow(2).mean().sqrt())


def draw_training_problem(
    config,
    preset: PriorPreset,
    family: OperatorFamily,
    generator: torch.Generator,
    batch_size: int | None = None,
    clean: torch.Tensor | None = None,
):
    """A batch of clean signals, their prior, and y = A x + sigma_y n with per-sample operators.

    `clean` (B, *shape) replaces the preset's draw (images read from a folder); batch_size defaults
    to config.batch_size.
    """
    g = generator
    if clean is not None:
        b, x, prior = clean.shape[0], clean, preset.prior
    else:
        b = config.batch_size if batch_size is None else batch_size
        x, prior = preset.draw(b, g)
    operator = family.sample(b, g)
    noise = GaussianNoise(config.draw_sigma(g))
    y = noise.measure(x, operator, torch.randn((b, *operator.out_shape), generator=g))
    return x, prior, InverseProblem(y, operator, noise)


@dataclass(frozen=True)
class NoisedDraw:
    """A training problem with one noised state per sample: clean x, its prior, the problem y = A x + noise,
    the sampling grid, the grid index k of each sample, t = grid[k + shift] and x_t ~ q(x_t | x)."""

    x: torch.Tensor
    prior: object
    problem: InverseProblem
    grid: torch.Tensor
    k: torch.Tensor
    t: torch.Tensor
    x_t: torch.Tensor


def draw_noised_problem(
    config,
    preset: PriorPreset,
    family: OperatorFamily,
    generator: torch.Generator,
    indices: tuple[int, int],
    shift: int = 0,
    batch_size: int | None = None,
    clean: torch.Tensor | None = None,
) -> NoisedDraw:
    """`draw_training_problem`, then per sample a grid index k uniform in [indices[0], indices[1]) on the
    grid of config.grid_steps points and x_t ~ q(x_t | x) at t = grid[k + shift]. The generator is read
    in that order (problem, k, the noise of x_t)."""
    schedule = preset.prior.schedule
    grid = uniform_grid(config.grid_steps, schedule.num_steps)
    x, prior, problem = draw_training_problem(config, preset, family, generator, batch_size, clean)
    k = torch.randint(indices[0], indices[1], (x.shape[0],), generator=generator)
    t = grid[k + shift]
    x_t = forward_sample(schedule, x, t, torch.randn(x.shape, generator=generator, dtype=x.dtype))
    return NoisedDraw(x, prior, problem, grid, k, t, x_t)
