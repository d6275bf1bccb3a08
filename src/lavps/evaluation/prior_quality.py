"""Quality numbers of an image prior: held-out denoising loss and the realism of its samples.

- Denoising loss at chosen times t: mean over held-out images and pixels of ||eps_hat - eps||^2, with
  eps_hat derived from the denoiser, eps_hat = (x_t - sqrt(abar_t) D(x_t, t)) / sqrt(1 - abar_t)
  (the training objective of an epsilon network; any prior with a denoiser can be scored).
- Realism: the share of unconditional DDIM samples that the digit classifier labels with confidence
  >= a threshold (a malformed digit gets no confident label).
"""

from __future__ import annotations

import torch

from ..diffusion import expand_time, forward_sample
from ..samplers.ddim import DDIM
from .stats import mean_ci95

__all__ = ["denoising_loss", "sample_confidence"]


@torch.no_grad()
def denoising_loss(prior, images: torch.Tensor, times: list[int], seed: int = 0, batch_size: int = 100) -> dict:
    """{t: (mean, 95% half-width over images)} of the per-pixel epsilon loss on `images`."""
    out = {}
    for t in times:
        g = torch.Generator().manual_seed(seed * 10_000 + int(t))
        per_image = []
        for i in range(0, len(images), batch_size):
            x = images[i : i + batch_size]
            eps = torch.randn(x.shape, generator=g)
            x_t = forward_sample(prior.schedule, x, int(t), eps)
            a = expand_time(prior.schedule.abar(int(t)), x)
            eps_hat = (x_t - a.sqrt() * prior.denoise(x_t, int(t))) / (1 - a).sqrt()
            per_image += (eps_hat - eps).pow(2).flatten(1).mean(1).tolist()
        out[int(t)] = mean_ci95(per_image)
    return out


@torch.no_grad()
def sample_confidence(
    prior, classifier, n: int = 256, steps: int = 100, seed: int = 0, threshold: float = 0.9, batch_size: int = 64
) -> dict:
    """Share of n unconditional DDIM samples (eta = 1, `steps` grid points) classified with max
    probability >= threshold, and the histogram of predicted labels; per-sample seeds seed + i. A latent
    prior's samples are decoded first."""
    sampler = DDIM(prior, steps=steps)
    confident, labels = [], []
    for i in range(0, n, batch_size):
        b = min(batch_size, n - i)
        x = sampler.sample(None, b, seed=list(range(seed + i, seed + i + b))).samples
        if hasattr(prior, "decode"):  # a latent prior: classify the decoded images
            x = prior.decode(x)
        p, pred = classifier(x.clamp(-1, 1)).softmax(1).max(1)
        confident += (p >= threshold).float().tolist()
        labels += pred.tolist()
    return {
        "samples": n,
        "ddim_steps": steps,
        "threshold": threshold,
        "confident_share": sum(confident) / n,
        "label_counts": [labels.count(c) for c in range(10)],
    }
