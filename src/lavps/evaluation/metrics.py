"""Metrics on sample sets."""

from __future__ import annotations

import torch

__all__ = ["sliced_wasserstein"]


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, num_directions: int = 100, seed: int = 0) -> float:
    """Sliced Wasserstein-1 distance: mean over random unit directions of the 1-D W1 of projections.

    The directions come from a seeded generator so that the same inputs give the same value.
    Sets of different sizes are compared through 1-D quantile functions on a common grid.

    Args:
        a: (n, d) samples; b: (m, d) samples.
    """
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"expected two (n, d) sample sets of the same d, got {tuple(a.shape)} and {tuple(b.shape)}")
    if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
        raise ValueError("sample sets contain NaN or inf")
    g = torch.Generator().manual_seed(seed)
    dirs = torch.randn(a.shape[1], num_directions, generator=g, dtype=torch.float64)
    dirs = dirs / dirs.norm(dim=0, keepdim=True)
    pa = torch.sort(a.double() @ dirs, dim=0).values
    pb = torch.sort(b.double() @ dirs, dim=0).values
    if pa.shape[0] != pb.shape[0]:
        n = max(pa.shape[0], pb.shape[0])
        q = (torch.arange(n, dtype=torch.float64) + 0.5) / n
        pa = torch.quantile(pa, q, dim=0)
        pb = torch.quantile(pb, q, dim=0)
    return float((pa - pb).abs().mean())
