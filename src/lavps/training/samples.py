"""Unconditional samples from a prior (DDIM, eta = 1, on a uniform grid) and PNG grids of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from ..diffusion import ddim_step, uniform_grid
from ..priors.base import Prior
from ..random import make_noise

__all__ = ["sample_unconditional", "save_image_grid"]


@torch.no_grad()
def sample_unconditional(
    prior: Prior, n: int, steps: int = 100, seed: int = 0, eta: float = 1.0, progress: bool = False
) -> torch.Tensor:
    """n samples x_0 ~ p(x_0) by DDIM steps T_i -> T_{i-1} on `uniform_grid(steps)`, in the prior's range.

    Starts from x ~ N(0, I) at T_{N-1} = K - 1. Sample i uses its own generator seeded seed + i, so it
    does not depend on n. With eta = 1 each step draws from the exact bridge q_{T_{i-1}|0,T_i}.
    """
    grid = uniform_grid(steps, prior.schedule.num_steps).tolist()
    noise = make_noise(seed, n, per_sample=True)
    x = noise.randn((n, *prior.shape))
    for i in tqdm(range(len(grid) - 1, 0, -1), desc="sampling", disable=not progress, leave=False):
        l, t = grid[i], grid[i - 1]
        x0_hat = prior.denoise(x, l)
        x = ddim_step(prior.schedule, x, x0_hat, l, t, eta, noise.randn_like(x) if t > 0 else None)
    return x


def save_image_grid(images: torch.Tensor, path: str | Path, nrow: int = 8, pad: int = 2) -> Path:
    """Write (B, C, H, W) images in [-1, 1] (clipped) as one PNG grid with nrow images per row."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images of shape (B, 1 or 3, H, W), got {tuple(images.shape)}")
    b, c, h, w = images.shape
    rows = (b + nrow - 1) // nrow
    canvas = np.zeros((rows * (h + pad) + pad, nrow * (w + pad) + pad, c), dtype=np.uint8)
    pixels = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1)
    for k in range(b):
        r, q = divmod(k, nrow)
        y0, x0 = pad + r * (h + pad), pad + q * (w + pad)
        canvas[y0 : y0 + h, x0 : x0 + w] = pixels[k].numpy()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(canvas[..., 0] if c == 1 else canvas).save(path)
    return path
