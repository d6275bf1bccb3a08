"""How well an amortizer solves the inner problem on a family: the ratio of its negative ELBO to the
zero-shot start's on the same batches (the training diagnostic, measured on held-out draws and on
operator families it never saw). Below 1: the network's start is better than MGDM's."""

from __future__ import annotations

import math
from dataclasses import replace

import torch

from ..training.amortizer import amortized_loss
from ..training.networks import TrainConfig
from ..training.problems import prior_family
from .stats import mean_ci95

__all__ = ["loss_ratio"]


def loss_ratio(
    net, preset, family_spec: str, sigma: float, config: TrainConfig, batches: int = 8, seed: int = 10_000
) -> dict:
    """Mean and 95% interval over `batches` held-out batches of (network loss / zero-shot loss)."""
    family = prior_family(family_spec, preset.prior)
    cfg = replace(config, sigma=sigma, sigma_max=None)
    g = torch.Generator().manual_seed(seed)
    ratios = []
    with torch.no_grad():
        for _ in range(batches):
            _, stats = amortized_loss(net, g, cfg, preset, family)
            ratios.append(stats["ratio"])
    ratios = [r for r in ratios if math.isfinite(r)]
    mean, ci = mean_ci95(ratios)
    return {"family": family_spec, "sigma": sigma, "ratio": mean, "ratio_ci95": ci, "batches": len(ratios)}
