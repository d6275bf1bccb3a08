"""Image files in and out (PNG, JPEG and anything else Pillow reads). Inside the library images are
(B, C, H, W) in [-1, 1] with C = 1 or 3; conversion happens only here.

Policy (docs/images.md): an alpha channel is dropped only when fully opaque, otherwise the image is
refused; 16-bit greyscale is scaled from 0..65535. `fit_image` makes an image match a target shape
(C, H, W): without a fit mode any mismatch is an error naming both shapes; `crop` centre-crops (after
an aspect-preserving downscale when the image is larger in both directions), `resize` rescales to
exactly (H, W); both convert RGB -> luminance (ITU-R 601) or grey -> RGB when the channels differ.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

__all__ = [
    "FIT_MODES",
    "read_image",
    "fit_image",
    "load_image",
    "read_png",
    "write_image",
    "write_png",
    "to_unit",
    "from_unit",
    "read_observation_file",
    "decode_pixels",
    "convert_channels",
]

FIT_MODES = ("crop", "resize")
_WIDE = ("I;16", "I;16L", "I;16B", "I")
_LUMA = (0.299, 0.587, 0.114)


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1], clipped."""
    return ((x + 1) / 2).clamp(0, 1)


def from_unit(x: torch.Tensor) -> torch.Tensor:
    return x * 2 - 1


def decode_pixels(img: Image.Image, path: Path) -> np.ndarray:
    """(H, W) or (H, W, 3) float32 in [0, 1] from any Pillow mode (16-bit grey scaled by 65535, never clipped);
    refuses transparency. The one decoding rule of every image lavps reads."""
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        alpha = np.asarray(img.getchannel("A"))
        if alpha.min() < 255:
            raise ValueError(
                f"image {path} has an alpha channel with transparent pixels ({img.mode}, {len(img.getbands())} "
                "channels); lavps takes 1 (grey) or 3 (RGB) channels: flatten it onto a background first"
            )
        img = img.convert("L" if img.mode in ("LA", "La") else "RGB")
    if img.mode in _WIDE:  # 16-bit grey (Pillow opens some as 32-bit "I"): scaled by 65535, never clipped
        arr = np.asarray(img, dtype=np.float64)
        if arr.min() < 0 or arr.max() > 65535:
            raise ValueError(f"image {path} has {img.mode} pixels outside 0..65535; save it as an 8- or 16-bit PNG")
        return (arr / 65535.0).astype(np.float32)
    if img.mode in ("F", "I;32"):
        raise ValueError(f"image {path} holds {img.mode} pixels; save it as an 8- or 16-bit PNG")
    if img.mode not in ("L", "RGB"):
        img = img.convert("RGB" if img.mode in ("CMYK", "YCbCr", "HSV", "LAB") else "L")
    return np.asarray(img, dtype=np.float32) / 255.0


def read_image(path: str | Path) -> torch.Tensor:
    """Read an image file as (1, C, H, W) in [-1, 1], C = 1 (grey) or 3 (RGB), turned as its EXIF orientation says."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image {path} does not exist")
    try:
        with Image.open(path) as img:
            arr = decode_pixels(ImageOps.exif_transpose(img), path)  # a camera's EXIF orientation: as displayed
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"cannot read image {path}: {e}") from None
    arr = arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
    return from_unit(torch.from_numpy(np.ascontiguousarray(arr))[None])


def _shape_text(shape) -> str:
    c, h, w = shape
    return f"{c}x{h}x{w} (C x H x W)"


def convert_channels(x: torch.Tensor, channels: int) -> torch.Tensor:
    if x.shape[1] == channels:
        return x
    if x.shape[1] == 3 and channels == 1:
        w = torch.tensor(_LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return (x * w).sum(1, keepdim=True)
    if x.shape[1] == 1 and channels == 3:
        return x.expand(-1, 3, -1, -1).contiguous()
    raise ValueError(f"cannot convert {x.shape[1]} channels to {channels}")


def fit_image(
    x: torch.Tensor,
    shape: tuple[int, int, int],
    fit: str | None = None,
    name: str = "image",
    by: str = "the prior expects",
) -> torch.Tensor:
    """Make a (B, C, H, W) image match `shape` = (C', H', W').

    fit None: any difference is an error naming both shapes. 'crop': channels converted, the image
    downscaled (aspect kept, antialiased) until one side matches if it is larger in both directions,
    then centre-cropped; an image smaller than the target in a direction is refused. 'resize':
    channels converted and bicubic (antialiased) rescale to (H', W'), aspect ratio not kept.
    `by` says who expects `shape` in the error ("the prior expects", "the operator sr:2 observes").
    """
    c, h, w = (int(s) for s in shape)
    have = tuple(int(s) for s in x.shape[1:])
    if have == (c, h, w):
        return x
    if fit is None:
        raise ValueError(
            f"{name} is {_shape_text(have)} but {by} {_shape_text((c, h, w))}; "
            "pass --fit crop or --fit resize to convert it"
        )
    if fit not in FIT_MODES:
        raise ValueError(f"unknown fit mode {fit!r}; allowed: {', '.join(FIT_MODES)}")
    x = convert_channels(x, c)
    ih, iw = x.shape[-2:]
    if fit == "resize":
        if (ih, iw) != (h, w):
            x = F.interpolate(x, size=(h, w), mode="bicubic", antialias=True, align_corners=False)
        return x.clamp(-1, 1)
    if ih < h or iw < w:
        raise ValueError(f"{name} is {ih}x{iw} pixels, smaller than the prior's {h}x{w}: use --fit resize")
    scale = max(h / ih, w / iw)
    if scale < 1:
        size = (max(h, round(ih * scale)), max(w, round(iw * scale)))
        x = F.interpolate(x, size=size, mode="bicubic", antialias=True, align_corners=False).clamp(-1, 1)
        ih, iw = size
    top, left = (ih - h) // 2, (iw - w) // 2
    return x[..., top : top + h, left : left + w].contiguous()


def load_image(
    path: str | Path, shape: tuple[int, int, int], fit: str | None = None, by: str = "the prior expects"
) -> torch.Tensor:
    """`read_image` then `fit_image` to `shape`: (1, C, H, W) in [-1, 1]."""
    return fit_image(read_image(path), shape, fit, name=f"image {path}", by=by)


def read_png(path: str | Path, channels: int, size: tuple[int, int] | None = None) -> torch.Tensor:
    """Read an image as (1, channels, H, W) in [-1, 1], converting the channels (luminance or replication).

    With `size`, an image of another size is an error (it does not fit the prior or the operator).
    """
    x = convert_channels(read_image(path), channels)
    if size is not None and tuple(x.shape[2:]) != tuple(size):
        raise ValueError(f"image {path} is {x.shape[3]}x{x.shape[2]} pixels, expected {size[1]}x{size[0]}")
    return x


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


def write_image(
    x: torch.Tensor, path: str | Path, value_range: tuple[float, float] = (-1.0, 1.0), quality: int = 95
) -> Path:
    """Write one (C, H, W) or (1, C, H, W) image, C = 1 or 3; the format follows the suffix (.png, .jpg, ...).

    Values are mapped from value_range to 0..255; JPEG is written at `quality`.
    """
    path = Path(path)
    x = x.detach().float().cpu()
    if x.ndim == 4:
        x = x[0]
    if x.ndim != 3 or x.shape[0] not in (1, 3):
        raise ValueError(f"can write images of shape (1 or 3, H, W), got {tuple(x.shape)}")
    lo, hi = value_range
    unit = ((x - lo) / (hi - lo)).clamp(0, 1)
    arr = (unit.numpy() * 255).round().astype(np.uint8)
    img = Image.fromarray(arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        img.save(path, **({"quality": quality} if path.suffix.lower() in (".jpg", ".jpeg") else {}))
    except (KeyError, ValueError) as e:
        raise ValueError(f"cannot write image {path}: unknown or unsupported format ({e})") from None
    return path


write_png = write_image
