"""Priors: everything that provides the denoiser D(x_t, t) on one schedule.

Adapters for models users already have live in their own modules (imported on demand, they pull in
diffusers): `lavps.priors.diffusers_folder`, `lavps.priors.adm`, `lavps.priors.edm`; `--prior` specs
are resolved by `lavps.priors.specs.resolve_prior`.

The names below are imported on first use (as in `lavps` and `lavps.samplers`), so that torch-free
submodules such as `lavps.priors.schemes` can be read by the CLI without loading torch.
"""

from ..lazy import lazy_attributes

__all__ = [
    "PREDICTIONS",
    "Prior",
    "denoiser_from_eps",
    "denoiser_from_output",
    "GaussianMixturePrior",
    "MixturePosterior",
    "grid_mixture",
]

_WHERE = {
    "PREDICTIONS": "base",
    "Prior": "base",
    "denoiser_from_eps": "base",
    "denoiser_from_output": "base",
    "GaussianMixturePrior": "gmm",
    "MixturePosterior": "gmm",
    "grid_mixture": "gmm",
}


__getattr__ = lazy_attributes(__name__, _WHERE)
