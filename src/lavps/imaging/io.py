"""PNG in and out. Inside the library images are (B, C, H, W) in [-1, 1]; conversion happens only here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

__all__ = ["read_png", "write_png", "to_unit", "from_unit"]


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1], clipped."""
    return ((x + 1) / 2).clamp(0, 1)


def from_unit(x: torch.Tensor) -> torch.Tensor:
    return x * 2 - 1


def read_png(path: str | Path, channels: int, size: tuple[int, int] | None = None) -> torch.Tensor:
    """Read an image as (1, channels, H, W) in [-1, 1].

    RGB is converted to luminance for a 1-channel prior and grayscale is replicated for a 3-channel one.
    With `size`, an image of another size is an error (it does not fit the prior or the operator).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image {path} does not exist")
    try:
        with Image.open(path) as img:
            img = img.convert("L" if channels == 1 else "RGB")
            arr = np.asarray(img, dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"cannot read image {path}: {e}") from None
    if arr.ndim == 2:
        arr = arr[None]
    else:
        arr = arr.transpose(2, 0, 1)
    if size is not None and tuple(arr.shape[1:]) != tuple(size):
        raise ValueError(f"image {path} is {arr.shape[2]}x{arr.shape[1]} pixels, expected {size[1]}x{size[0]}")
    return from_unit(torch.from_numpy(np.ascontiguousarray(arr))[None])


def write_png(x: torch.Tensor, path: str | Path, value_range: tuple[float, float] = (-1.0, 1.0)) -> Path:
    """Write one (C, H, W) or (1, C, H, W) image; values mapped from value_range to 0..255."""
    path = Path(path)
    x = x.detach().float().cpu()
    if x.ndim == 4:
        x = x[0]
    lo, hi = value_range
    unit = ((x - lo) / (hi - lo)).clamp(0, 1)
    arr = (unit.numpy() * 255).round().astype(np.uint8)
    img = Image.fromarray(arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path
