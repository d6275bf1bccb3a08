"""Priors: everything that provides the denoiser D(x_t, t) on one schedule."""

from .base import Prior, denoiser_from_eps
from .gmm import GaussianMixturePrior, MixturePosterior, grid_mixture

__all__ = ["Prior", "denoiser_from_eps", "GaussianMixturePrior", "MixturePosterior", "grid_mixture"]
