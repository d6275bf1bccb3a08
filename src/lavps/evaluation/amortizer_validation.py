"""Validation of an amortizer during training, on held-out clean images.

Two numbers, both on fixed draws (same operators, noise, times and z at every validation):
- val_ratio: the inner loss of the network's start / the zero-shot start's on the held-out images
  (the number amortized VI trains for; below 1 = better than MGDM's start). Early stopping monitors it.
- val_psnr: mean PSNR (dB) of LAVPS (guard on, tiny budget) on the first `psnr_images` held-out
  images, each observed through its own operator of the training family.
"""

from __future__ import annotations

import torch

from ..metrics import psnr
from ..operators import GaussianNoise, InverseProblem, OperatorFamily
from ..priors.specs import PriorPreset
from ..random import derive_seed
from ..training.amortizer import amortized_loss
from ..training.loop import Validation
from ..training.networks import TrainConfig

__all__ = ["amortizer_validation", "VALIDATION_BUDGET"]

#: LAVPS budget of the PSNR check: 1 Adam step outside the window, 1 after the guard.
VALIDATION_BUDGET = {"adam_out": 1, "inner_steps": 1, "lr": 0.03}


def amortizer_validation(
    config: TrainConfig,
    preset: PriorPreset,
    family: OperatorFamily,
    images: torch.Tensor,
    psnr_images: int = 2,
    seed: int = 0,
) -> Validation:
    """A `Validation` computing {"val_ratio", "val_psnr"} on `images` (V, C, H, W) in [-1, 1]."""
    if images.shape[0] < 1:
        raise ValueError("validation needs at least one held-out image")
    count = min(psnr_images, images.shape[0])

    def fn(net) -> dict[str, float]:
        from ..samplers.registry import build_sampler

        g = torch.Generator().manual_seed(derive_seed(seed, 2))
        with torch.no_grad():
            _, stats = amortized_loss(net, g, config, preset, family, clean=images)
        out = {"val_ratio": stats["ratio"]}
        if count:
            x = images[:count]
            g = torch.Generator().manual_seed(derive_seed(seed, 3))
            op = family.sample(count, g)
            noise = GaussianNoise(config.sigma)
            y = noise.measure(x, op, torch.randn((count, *op.out_shape), generator=g))
            options = {**VALIDATION_BUDGET, "amortizer": net, "steps": config.grid_steps, "window": config.window}
            sampler = build_sampler("lavps", preset.prior, options)
            result = sampler.sample(
                InverseProblem(y, op, noise), count, seed=[derive_seed(seed, 4, i) for i in range(count)]
            )
            out["val_psnr"] = float(psnr(result.samples, x).mean())
        return out

    return Validation(fn=fn, monitor="val_ratio")
