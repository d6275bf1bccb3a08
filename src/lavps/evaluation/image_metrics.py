"""PSNR and SSIM per image via torchmetrics, on images mapped from [-1, 1] to [0, 1]."""

from __future__ import annotations

import torch

__all__ = ["psnr", "ssim"]


def psnr(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB, shape (B,)."""
    from torchmetrics.functional.image import peak_signal_noise_ratio

    a, b = ((x.float() + 1) / 2).clamp(0, 1), ((reference.float() + 1) / 2).clamp(0, 1)
    return peak_signal_noise_ratio(a, b, data_range=1.0, reduction="none", dim=(1, 2, 3))


def ssim(x: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM (Gaussian window 11, sigma 1.5), shape (B,)."""
    from torchmetrics.functional.image import structural_similarity_index_measure

    a, b = ((x.float() + 1) / 2).clamp(0, 1), ((reference.float() + 1) / 2).clamp(0, 1)
    return structural_similarity_index_measure(a, b, data_range=1.0, reduction="none")
