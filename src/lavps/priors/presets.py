"""Prior presets by spec string, and the fingerprint that ties a trained network to its prior.

Specs (CLI and training):
- `gmm:D` - the 25-component grid mixture of METHOD.md section 7 in R^D, weights drawn from `seed`.
- `gmm:D:fresh` - the same means and covariances with FRESH random weights for every training batch
  (the benchmark draws new weights for every problem, so this is what generalises across problems).
- `mnist` - the shipped 32x32 MNIST image prior; clean training images from the MNIST train split.

The fingerprint hashes what defines a prior family: the schedule and, for a Gaussian mixture, its
means and covariances (NOT its weights, which every benchmark problem draws anew); for a network prior,
its weights. A checkpoint trained on one family is refused for another (see lavps.amortize).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .base import Prior
from .gmm import GaussianMixturePrior, grid_mixture

__all__ = ["PriorPreset", "prior_fingerprint", "resolve_prior", "PRESET_KINDS", "FINGERPRINT_ATTR"]

PRESET_KINDS = ("gmm:D", "gmm:D:fresh", "mnist")
#: A prior moved to another precision records the fingerprint of its original weights under this name.
FINGERPRINT_ATTR = "source_fingerprint"


@dataclass(frozen=True)
class PriorPreset:
    """A prior plus how to draw clean training signals from it.

    Attributes:
        spec: the spec string it was resolved from.
        prior: the reference prior (schedule, shape, fingerprint; the denoiser unless fresh_prior).
        clean: (n, generator) -> n clean signals; None = prior.sample.
        fresh_prior: generator -> a new prior of the same family for every batch (clean signals then
            come from that prior's `sample`); None = always `prior`.
        description: JSON-able description stored in checkpoints and cards.
    """

    spec: str
    prior: Prior
    clean: Callable[[int, torch.Generator], torch.Tensor] | None = None
    fresh_prior: Callable[[torch.Generator], Prior] | None = None
    description: dict = field(default_factory=dict)

    def draw(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, Prior]:
        """n clean signals and the prior (denoiser) they belong to."""
        if self.fresh_prior is not None:
            prior = self.fresh_prior(generator)
            return prior.sample(n, generator), prior
        if self.clean is not None:
            return self.clean(n, generator), self.prior
        if not hasattr(self.prior, "sample"):
            raise ValueError(f"prior preset {self.spec!r} has no way to draw clean training signals")
        return self.prior.sample(n, generator), self.prior


def _update(h, tensor: torch.Tensor) -> None:
    t = tensor.detach().cpu().contiguous()
    h.update(f"{t.dtype}{tuple(t.shape)}".encode())
    h.update(t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.float().numpy().tobytes())


def prior_fingerprint(prior: Prior) -> str:
    """A short hash identifying the prior family (see the module docstring for what it covers)."""
    recorded = getattr(prior, FINGERPRINT_ATTR, None)
    if recorded is not None:  # a prior placed in another precision (lavps.priors.placement)
        return recorded
    h = hashlib.sha256()
    h.update(f"shape={tuple(prior.shape)}".encode())
    _update(h, prior.schedule.alphas_cumprod)
    if isinstance(prior, GaussianMixturePrior):
        h.update(b"gmm")
        _update(h, prior.means)
        _update(h, prior.variances)
    elif isinstance(prior, torch.nn.Module):
        h.update(type(prior).__name__.encode())
        for name, value in sorted(prior.state_dict().items()):
            h.update(name.encode())
            _update(h, value)
    else:
        h.update(type(prior).__name__.encode())
    return h.hexdigest()[:16]


def resolve_prior(spec: str, seed: int = 0) -> PriorPreset:
    """The prior preset named by `spec` (see the module docstring); `seed` draws fixed GMM weights."""
    parts = spec.strip().split(":")
    kind = parts[0].lower()
    if kind == "gmm":
        return _gmm_preset(spec, parts[1:], seed)
    if kind == "mnist" and len(parts) == 1:
        return _mnist_preset(spec)
    raise ValueError(f"unknown prior spec {spec!r}; allowed: {', '.join(PRESET_KINDS)} (e.g. gmm:80, gmm:8:fresh)")


def _gmm_preset(spec: str, args: list[str], seed: int) -> PriorPreset:
    if not args or len(args) > 2 or (len(args) == 2 and args[1] != "fresh"):
        raise ValueError(f"bad prior spec {spec!r}; expected gmm:D or gmm:D:fresh with D a positive integer")
    try:
        dim = int(args[0])
    except ValueError:
        raise ValueError(f"bad prior spec {spec!r}: dimension {args[0]!r} is not an integer") from None
    if dim < 1:
        raise ValueError(f"bad prior spec {spec!r}: dimension must be >= 1")
    fresh = len(args) == 2
    prior = grid_mixture(dim, generator=torch.Generator().manual_seed(int(seed)))
    weights = "fresh uniform(0,1) weights, normalised, for every batch" if fresh else f"drawn from seed {seed}"
    description = {
        "spec": spec,
        "name": "25-component grid Gaussian mixture (METHOD.md section 7)",
        "shape": list(prior.shape),
        "weights": weights,
        "fingerprint": prior_fingerprint(prior),
    }
    fresh_prior = (lambda g: grid_mixture(dim, generator=g)) if fresh else None
    return PriorPreset(spec=spec, prior=prior, fresh_prior=fresh_prior, description=description)


def _mnist_preset(spec: str) -> PriorPreset:
    from ..data.mnist import mnist_split
    from .image_unet import default_prior_path, load_image_prior

    prior = load_image_prior()
    images, _ = mnist_split("train")

    def clean(n: int, generator: torch.Generator) -> torch.Tensor:
        return images[torch.randint(0, images.shape[0], (n,), generator=generator)]

    description = {
        "spec": spec,
        "name": "shipped MNIST 32x32 image prior; clean images from the MNIST train split",
        "path": str(default_prior_path()),
        "shape": list(prior.shape),
        "fingerprint": prior_fingerprint(prior),
    }
    return PriorPreset(spec=spec, prior=prior, clean=clean, description=description)
