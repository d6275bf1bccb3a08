"""Priors: everything that provides the denoiser D(x_t, t) on one schedule.

Adapters for models users already have live in their own modules (imported on demand, they pull in
diffusers): `lavps.priors.diffusers_folder`, `lavps.priors.adm`, `lavps.priors.edm`; `--prior` specs
are resolved by `lavps.priors.specs.resolve_prior`.
"""

from .base import PREDICTIONS, Prior, denoiser_from_eps, denoiser_from_output
from .gmm import GaussianMixturePrior, MixturePosterior, grid_mixture

__all__ = [
    "PREDICTIONS",
    "Prior",
    "denoiser_from_eps",
    "denoiser_from_output",
    "GaussianMixturePrior",
    "MixturePosterior",
    "grid_mixture",
]
