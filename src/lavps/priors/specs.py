"""Prior presets by spec string, and the fingerprint that ties a trained network to its prior.

Specs (CLI and training; `--prior SPEC` everywhere a prior is taken):
- `mnist` - the shipped 32x32 MNIST image prior (the default); clean training images from the MNIST train split.
- `gmm:D` - the 25-component grid mixture of docs/METHOD.md section 7 in R^D, weights drawn from `seed`.
- `gmm:D:fresh` - the same means and covariances with FRESH random weights for every training batch
  (the benchmark draws new weights for every problem, so this is what generalises across problems).
- `diffusers:DIR` (or just DIR) - a diffusers UNet2DModel or DDPM pipeline folder
  (`lavps.priors.diffusers_folder`).
- `ldm:DIR` - a diffusers latent diffusion folder: vqvae/ or vae/ + unet/ + scheduler/; samplers run on
  the latent (`lavps.priors.latent`). `ldm:mnist`: the shipped latent MNIST prior; its clean training
  signals are the latents (encoder means) of the MNIST train split.
- `adm:FILE[:PRESET|:FLAGS.json]` - a guided-diffusion .pt state dict (`lavps.priors.adm`); PRESET is
  ffhq (default) or imagenet.
- `hdit:FILE[:PRESET|:CONFIG.json][:class=N|:class=null]` - an HDiT checkpoint of the LAVPS paper
  (`lavps.priors.hdit`); PRESET is ffhq (default) or imagenet (class-conditional: a class or null is required).
- `edm:MODULE:FACTORY` - imports MODULE (a dotted module name or a .py file) and calls FACTORY(), which
  returns a VE denoiser D(x, sigma) with a `shape` attribute (`lavps.priors.edm`). This RUNS the user's
  code, as asked; the other specs only read tensors and JSON.
- `PATH.safetensors` - a prior written by `lavps train-prior` (`lavps.priors.image_unet`).
Network priors other than mnist have no clean training data: `draw` raises for them unless
`resolve_prior(..., data=FOLDER)` gives a folder of clean images.

The fingerprint hashes what defines a prior family: the schedule and, for a Gaussian mixture, its
means and covariances (NOT its weights, which every benchmark problem draws anew); for a network prior,
its weights and, for a class-conditional one, the class it is conditioned on. A checkpoint trained on one
family is refused for another (see lavps.amortize).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .base import Prior
from .gmm import GaussianMixturePrior, grid_mixture
from .schemes import PRESET_KINDS, PRIOR_SCHEMES, PriorScheme

__all__ = [
    "PriorPreset",
    "PriorScheme",
    "PRIOR_SCHEMES",
    "prior_fingerprint",
    "resolve_prior",
    "load_prior",
    "PRESET_KINDS",
    "FINGERPRINT_ATTR",
]


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
            from .latent import check_training_data

            check_training_data(self, images=False)  # a latent prior: images (--data) are no way out either
            raise ValueError(
                f"prior {self.spec!r} has no clean training data (give a folder of clean images: --data DIR)"
            )
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
        configs = [m.fingerprint_config for m in prior.modules() if getattr(m, "fingerprint_config", None)]
        if configs:  # settings a module keeps outside its tensors, which change its output all the same
            h.update(json.dumps(configs, sort_keys=True, default=str).encode())
        labels = [m.class_label for m in prior.modules() if getattr(m, "class_label", None) is not None]
        if labels:  # a class-conditional prior conditioned on class c is p(x | c): another prior per class
            h.update(f"class_label={labels}".encode())
    else:
        h.update(type(prior).__name__.encode())
    return h.hexdigest()[:16]


def resolve_prior(spec: str, seed: int = 0, data: str | Path | None = None) -> PriorPreset:
    """The prior preset named by `spec` (see the module docstring); `seed` draws fixed GMM weights.

    `data`: a folder of clean images of the prior's shape, drawn uniformly as training signals
    (this is how a network prior without its own data set trains an amortizer; a latent prior refuses it).
    """
    preset = _resolve(spec.strip(), seed)
    if data is None:
        return preset
    from .latent import check_training_data

    check_training_data(preset, images=True)
    if len(preset.prior.shape) != 3:
        raise ValueError(f"training images (--data) need an image prior; {spec!r} has shape {preset.prior.shape}")
    from ..data.images import image_folder

    images = image_folder(data, tuple(preset.prior.shape))

    def clean(n: int, generator: torch.Generator) -> torch.Tensor:
        return images[torch.randint(0, images.shape[0], (n,), generator=generator)]

    description = preset.description | {
        "data": f"{images.shape[0]} images from {data}",
        "fingerprint": prior_fingerprint(preset.prior),
    }
    return PriorPreset(spec=preset.spec, prior=preset.prior, clean=clean, description=description)


def _resolve(spec: str, seed: int) -> PriorPreset:
    kind, _, rest = spec.partition(":")
    kind = kind.lower()
    if kind == "gmm":
        return _gmm_preset(spec, spec.split(":")[1:], seed)
    if kind == "mnist" and not rest:
        return _mnist_preset(spec)
    if kind == "ldm" and rest == "mnist":
        return _ldm_mnist_preset(spec)
    if kind in PRIOR_SCHEMES and rest:
        return _network_preset(spec, PRIOR_SCHEMES[kind].load(rest))
    if Path(spec).is_dir():  # a bare folder: a diffusers UNet2DModel or pipeline folder
        return _network_preset(spec, PRIOR_SCHEMES["diffusers"].load(spec))
    if spec.endswith(".safetensors"):
        from .image_unet import load_image_prior

        return _network_preset(spec, load_image_prior(spec))
    raise ValueError(f"unknown prior spec {spec!r}; allowed: {', '.join(PRESET_KINDS)}")


def load_prior(spec: str | None = None, seed: int = 0, class_label: int | str | None = None) -> Prior:
    """The prior (denoiser) of `spec`; None means the shipped MNIST prior.

    class_label: for a class-conditional HDiT prior, a class index or "null" (refused for other priors).
    """
    from .hdit.loader import with_class_label

    return resolve_prior(with_class_label(spec or "mnist", class_label), seed).prior


def _network_preset(spec: str, prior: Prior) -> PriorPreset:
    """A network prior without clean training data (its own samples would need a full sampler run)."""
    # No fingerprint here: hashing a 550 M-parameter network costs seconds and only training records it.
    description = {"spec": spec, "shape": list(prior.shape)}
    return PriorPreset(spec=spec, prior=prior, description=description)


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
        "name": "25-component grid Gaussian mixture (docs/METHOD.md section 7)",
        "shape": list(prior.shape),
        "weights": weights,
        "fingerprint": prior_fingerprint(prior),
    }
    fresh_prior = (lambda g: grid_mixture(dim, generator=g)) if fresh else None
    return PriorPreset(spec=spec, prior=prior, fresh_prior=fresh_prior, description=description)


def _mnist_preset(spec: str) -> PriorPreset:
    from .image_unet import default_prior_path, load_image_prior

    name = "shipped MNIST 32x32 image prior; clean images from the MNIST train split"
    return _mnist_train_preset(spec, load_image_prior(), default_prior_path(), name, lambda images: images)


def _ldm_mnist_preset(spec: str) -> PriorPreset:
    from .latent import default_latent_prior_path, load_latent_prior

    prior = load_latent_prior("mnist")
    name = "shipped latent MNIST prior; clean latents = encoder means of the MNIST train split"
    return _mnist_train_preset(spec, prior, default_latent_prior_path(), name, prior.encode)


def _mnist_train_preset(spec: str, prior, path, name: str, to_clean) -> PriorPreset:
    """A shipped MNIST prior whose clean signals are `to_clean` of the train split (images, or latents)."""
    from ..data.mnist import mnist_split

    cache: list[torch.Tensor] = []  # the train split, read (and encoded) on the first draw: restore never needs it

    def clean(n: int, generator: torch.Generator) -> torch.Tensor:
        if not cache:
            with torch.no_grad():
                cache.append(to_clean(mnist_split("train")[0]))
        return cache[0][torch.randint(0, cache[0].shape[0], (n,), generator=generator)]

    description = {
        "spec": spec,
        "name": name,
        "path": str(path),
        "shape": list(prior.shape),
        "fingerprint": prior_fingerprint(prior),
    }
    return PriorPreset(spec=spec, prior=prior, clean=clean, description=description)
