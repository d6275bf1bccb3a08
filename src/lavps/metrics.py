"""Metrics on the ground floor (no other lavps module needed): PSNR and SSIM per image (torchmetrics, on
images mapped from [-1, 1] to [0, 1]) and the sliced Wasserstein distance between sample sets."""

from __future__ import annotations

import torch

__all__ = ["psnr", "ssim", "sliced_wasserstein"]


def psnr(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB, shape (B,), of two batches (B, C, H, W) in [-1, 1]."""
    _check_pair(x, reference)
    from torchmetrics.functional.image import peak_signal_noise_ratio

    a, b = ((x.float() + 1) / 2).clamp(0, 1), ((reference.float() + 1) / 2).clamp(0, 1)
    return peak_signal_noise_ratio(a, b, data_range=1.0, reduction="none", dim=(1, 2, 3))


def ssim(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM (Gaussian window 11, sigma 1.5), shape (B,), of two batches (B, C, H, W) in [-1, 1]."""
    _check_pair(x, reference)
    from torchmetrics.functional.image import structural_similarity_index_measure

    a, b = ((x.float() + 1) / 2).clamp(0, 1), ((reference.float() + 1) / 2).clamp(0, 1)
    return structural_similarity_index_measure(a, b, data_range=1.0, reduction="none")


def _check_pair(x: torch.Tensor, reference: torch.Tensor) -> None:
    """Two image batches of one shape: one image (C, H, W) would fail inside torchmetrics with its axes named."""
    if x.ndim != 4 or reference.ndim != 4 or tuple(x.shape[1:]) != tuple(reference.shape[1:]):
        raise ValueError(
            f"expected two image batches (B, C, H, W) of the same image shape, got {tuple(x.shape)} and "
            f"{tuple(reference.shape)} (one image: x[None])"
        )


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
