"""Fit an image file to a prior's shape: center-crop to the target aspect ratio, then resize.

The rule (shared by training folders and folder restoration): crop the largest centered window of
the target's aspect ratio H/W, then resize it to H x W with Lanczos filtering (a no-op when it
already has that size). An image smaller than the target in either side is refused: upscaling would
invent detail the prior then treats as real.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .io import convert_channels, decode_pixels, from_unit

__all__ = ["IMAGE_SUFFIXES", "read_fitted", "image_size", "center_crop_box"]

#: the EXIF tag of a camera image's orientation
_ORIENTATION = 0x0112

#: file suffixes read as images (case-insensitive)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def image_size(path: str | Path) -> tuple[int, int]:
    """(width, height) from the file header; ValueError naming the file if it is not a readable image."""
    try:
        with Image.open(path) as img:
            turned = img.getexif().get(_ORIENTATION, 1) in (5, 6, 7, 8)  # displayed turned by 90 degrees
            return img.size[::-1] if turned else img.size
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"cannot read image {path}: {e}") from None


def center_crop_box(width: int, height: int, target_h: int, target_w: int) -> tuple[int, int, int, int]:
    """The largest centered (left, top, right, bottom) box with aspect ratio target_h / target_w."""
    if width * target_h >= height * target_w:  # too wide: crop the width
        w, h = (height * target_w) // target_h, height
    else:
        w, h = width, (width * target_h) // target_w
    left, top = (width - w) // 2, (height - h) // 2
    return left, top, left + w, top + h


def read_fitted(path: str | Path, shape: tuple[int, int, int]) -> torch.Tensor:
    """Read `path` as (C, H, W) in [-1, 1] fitted to shape = (C, H, W) (see the module docstring).

    A camera image's EXIF orientation is applied first (the image as it is displayed). Pixels are decoded as
    every lavps image is (`lavps.imaging.io.decode_pixels`: 16-bit grey scaled, not
    clipped; transparency refused), channels converted as `lavps.imaging.io.convert_channels` does
    (luminance or replication), then cropped and resized in floating point.

    Raises:
        ValueError: unreadable file, transparent pixels, or an image smaller than H x W (the message names
            both sizes).
    """
    c, h, w = shape
    try:
        with Image.open(path) as opened:
            img = ImageOps.exif_transpose(opened)  # a camera's EXIF orientation: the image as it is displayed
            if img.size[0] < w or img.size[1] < h:
                raise ValueError(
                    f"image {path} is {img.size[0]}x{img.size[1]} pixels, smaller than the prior's {w}x{h}"
                )
            arr = decode_pixels(img, Path(path))
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"cannot read image {path}: {e}") from None
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    x = convert_channels(torch.from_numpy(np.ascontiguousarray(arr))[None], c)[0]
    height, width = x.shape[1:]
    if (width, height) != (w, h):
        box = center_crop_box(width, height, h, w)
        planes = [Image.fromarray(p.numpy()).crop(box).resize((w, h), Image.Resampling.LANCZOS) for p in x]
        x = torch.from_numpy(np.stack([np.asarray(p, dtype=np.float32) for p in planes])).clamp(0, 1)
    return from_unit(x)
