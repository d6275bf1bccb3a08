"""Paths of the networks shipped inside the package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["default_amortizer_path", "nonlinear_amortizer_path", "LATENT_AMORTIZER"]

#: the shipped latent amortizer (trained against `ldm:mnist`), in the package's assets
LATENT_AMORTIZER = "mnist32_ldm_amortizer.safetensors"


def default_amortizer_path(prior=None, linear: bool = True) -> Path:
    """The shipped amortizer for `prior`: the latent one for a latent prior (trained against `ldm:mnist`;
    another latent prior refuses it by fingerprint), else the image amortizer trained against the shipped
    MNIST prior: for a non-linear operator family (`linear` False) the one fine-tuned with jpeg:10 and phase:2
    (`nonlinear_amortizer_path`, what the demo's non-linear rows run), else the linear one."""
    from ..priors.latent import LatentPrior

    if isinstance(prior, LatentPrior):
        return Path(str(resources.files("lavps") / "assets" / LATENT_AMORTIZER))
    if not linear:
        return nonlinear_amortizer_path()
    return Path(str(resources.files("lavps") / "assets" / "mnist32_amortizer.safetensors"))


def nonlinear_amortizer_path() -> Path:
    """The image amortizer fine-tuned on the six linear families plus jpeg:10 and phase:2 (its own card; the
    default for a non-linear operator family, `default_amortizer_path`)."""
    return Path(str(resources.files("lavps") / "assets" / "mnist32_nonlinear_amortizer.safetensors"))
