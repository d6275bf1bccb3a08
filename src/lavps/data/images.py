"""A folder of clean images (PNG/JPEG) as training data for an image prior of a given shape."""

from __future__ import annotations

from pathlib import Path

import torch

__all__ = ["IMAGE_SUFFIXES", "image_folder"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def image_folder(folder: str | Path, shape: tuple[int, int, int]) -> torch.Tensor:
    """Every image of `folder` (sorted by name) as an (n, C, H, W) float32 tensor in [-1, 1].

    Each image must already be H x W pixels (an error names the first one that is not); RGB becomes
    luminance for C = 1 and grey is replicated for C = 3, as in `lavps.imaging.io.read_png`.
    """
    from ..imaging.io import read_png

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder not found: {folder}")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise ValueError(f"{folder} holds no {'/'.join(IMAGE_SUFFIXES)} images")
    c, h, w = shape
    return torch.cat([read_png(p, c, (h, w)) for p in paths])
