"""Paths of the networks shipped inside the package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["default_amortizer_path", "nonlinear_amortizer_path", "LATENT_AMORTIZER"]

#: the shipped latent amortizer (trained against `ldm:mnist`), in the package's assets
LATENT_AMORTIZER = "mnist32_ldm_amortizer.safetensors"


def default_amortizer_path(prior=None) -> Path:
    """The shipped amortizer for `prior`: the latent one for a latent prior (trained against `ldm:mnist`;
    another latent prior refuses it by fingerprint), else the image amortizer trained against the shipped
    MNIST prior."""
    from ..priors.latent import LatentPrior

    name = LATENT_AMORTIZER if isinstance(prior, LatentPrior) else "mnist32_amortizer.safetensors"
    return Path(str(resources.files("lavps") / "assets" / name))


def nonlinear_amortizer_path() -> Path:
    """The image amortizer fine-tuned on the six linear families plus jpeg:10 and phase:2 (its own card;
    not the default: pass it as `amortizer=` / `--amortizer`)."""
    return Path(str(resources.files("lavps") / "assets" / "mnist32_nonlinear_amortizer.safetensors"))
