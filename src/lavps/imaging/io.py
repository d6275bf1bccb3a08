"""PNG in and out. Inside the library images are (B, C, H, W) in [-1, 1]; conversion happens only here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

__all__ = ["read_png", "write_png", "to_unit", "from_unit", "read_observation_file"]

_WIDE = ("I;16", "I;16L", "I;16B", "I")  # 16-bit grayscale PNGs (PIL opens some as 32-bit "I")


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
            arr = _unit_array(img, channels, path)
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"cannot read image {path}: {e}") from None
    if arr.ndim == 2:
        arr = arr[None]
    else:
        arr = arr.transpose(2, 0, 1)
    if size is not None and tuple(arr.shape[1:]) != tuple(size):
        raise ValueError(f"image {path} is {arr.shape[2]}x{arr.shape[1]} pixels, expected {size[1]}x{size[0]}")
    return from_unit(torch.from_numpy(np.ascontiguousarray(arr))[None])


def _unit_array(img: Image.Image, channels: int, path: Path) -> np.ndarray:
    """Pixels in [0, 1]: 8-bit modes scale by 255, 16-bit grayscale by 65535 (never clipped to 8 bits)."""
    if img.mode in _WIDE:
        arr = np.asarray(img, dtype=np.float64)
        if arr.min() < 0 or arr.max() > 65535:
            raise ValueError(f"image {path} has {img.mode} pixels outside 0..65535; save it as an 8- or 16-bit PNG")
        arr = (arr / 65535.0).astype(np.float32)
        return arr if channels == 1 else np.repeat(arr[..., None], 3, axis=-1)
    if img.mode in ("F", "I;32"):
        raise ValueError(f"image {path} holds {img.mode} pixels; save it as an 8- or 16-bit PNG")
    return np.asarray(img.convert("L" if channels == 1 else "RGB"), dtype=np.float32) / 255.0


def read_observation_file(path: str | Path) -> torch.Tensor:
    """The exact float observation saved by `lavps degrade` (`{"y": tensor}`, or a bare tensor, in a .pt file).

    Loaded with torch.load(weights_only=True): a file holding other pickled objects is refused, never run.
    """
    import pickle

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"observation {path} does not exist")
    try:
        payload = torch.load(path, weights_only=True, map_location="cpu")
    except (pickle.UnpicklingError, RuntimeError, EOFError, AttributeError, ValueError, TypeError) as e:
        kind = "is not a readable tensor file"
        if isinstance(e, pickle.UnpicklingError) and "Unsupported global" in str(e):
            kind = "holds pickled Python objects, which are never loaded (they could run code)"
        raise ValueError(
            f"{path} {kind}; pass a PNG, or save the observation as torch.save({{'y': tensor}}, path)"
        ) from None
    y = payload.get("y") if isinstance(payload, dict) else payload
    if not isinstance(y, torch.Tensor):
        raise ValueError(f"{path} is not an observation file: expected a tensor or a dict {{'y': tensor}}")
    return y.float()


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
