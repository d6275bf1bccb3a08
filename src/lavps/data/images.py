"""A folder of clean images (PNG/JPEG) as in-memory training data for an image prior of a given shape."""

from __future__ import annotations

from pathlib import Path

import torch

from ..imaging.fit import IMAGE_SUFFIXES

__all__ = ["IMAGE_SUFFIXES", "image_folder"]


def image_folder(folder: str | Path, shape: tuple[int, int, int]) -> torch.Tensor:
    """Every image of `folder` (DIR searched recursively, or GLOB; sorted by name) as (n, C, H, W) in [-1, 1].

    Listing and fitting are those of `lavps.data.folder` / `lavps.imaging.fit` (center crop to the
    prior's aspect ratio, then resize; smaller images are an error naming the file). RGB becomes
    luminance for C = 1 and grey is replicated for C = 3. For large folders use the streaming
    `lavps.data.folder.FolderData` (what `lavps train-amortizer --data` does).
    """
    from ..imaging.fit import read_fitted
    from .folder import check_images, list_images

    images = list_images(folder)
    check_images(images.files, shape)
    return torch.stack([read_fitted(p, shape) for p in images.files])
