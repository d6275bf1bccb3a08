"""JPEG compression at quality Q: the real codec (Pillow's libjpeg) and a differentiable approximation.

Both follow baseline JPEG (ITU-T T.81): pixels p = 255 (x + 1) / 2 rounded to 8 bits; colour images go
to YCbCr (JFIF) without chroma subsampling (4:4:4, Pillow's `subsampling=0`); each channel is padded to
a multiple of 8 by repeating its last row / column, level-shifted by -128 and cut into 8x8 blocks; the
orthonormal 2-D DCT-II of a block is divided by the quantisation table and rounded; the decoder
multiplies back, inverts the DCT, adds 128, rounds and clips to [0, 255]. Tables: the standard's
Annex K examples scaled by quality as libjpeg does (`quality_table`).

The approximation (`jpeg_approx`) computes exactly that in floating point, with every rounding and
clip replaced by a straight-through estimator: the forward value is the rounded one, the gradient that
of the identity (quantisation is invisible to the gradient, clipping at the input is not). It differs
from the codec only by libjpeg's integer DCT arithmetic; tests/test_measurements.py measures the PSNR
between the two.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["LUMA_TABLE", "CHROMA_TABLE", "quality_table", "jpeg_approx", "jpeg_codec"]

#: ITU-T T.81 Annex K, table K.1 (luminance) and K.2 (chrominance)
LUMA_TABLE = (
    (16, 11, 10, 16, 24, 40, 51, 61),
    (12, 12, 14, 19, 26, 58, 60, 55),
    (14, 13, 16, 24, 40, 57, 69, 56),
    (14, 17, 22, 29, 51, 87, 80, 62),
    (18, 22, 37, 56, 68, 109, 103, 77),
    (24, 35, 55, 64, 81, 104, 113, 92),
    (49, 64, 78, 87, 103, 121, 120, 101),
    (72, 92, 95, 98, 112, 100, 103, 99),
)
CHROMA_TABLE = (
    (17, 18, 24, 47, 99, 99, 99, 99),
    (18, 21, 26, 66, 99, 99, 99, 99),
    (24, 26, 56, 99, 99, 99, 99, 99),
    (47, 66, 99, 99, 99, 99, 99, 99),
    *[(99,) * 8] * 4,
)
_RGB_TO_YCC = ((0.299, 0.587, 0.114), (-0.168736, -0.331264, 0.5), (0.5, -0.418688, -0.081312))


def quality_table(base: tuple, quality: torch.Tensor) -> torch.Tensor:
    """libjpeg's scaling of a base table for qualities (B,) in 1..100: scale = 5000 / Q below 50, else
    200 - 2 Q; entries floor((T * scale + 50) / 100) clipped to [1, 255] (baseline). Returns (B, 8, 8)."""
    q = quality.double().reshape(-1, 1, 1)
    scale = torch.where(q < 50, 5000.0 / q, 200.0 - 2.0 * q)
    table = torch.tensor(base, dtype=torch.float64)
    return torch.floor((table * scale + 50.0) / 100.0).clamp(1.0, 255.0)


def _dct_matrix(dtype: torch.dtype, device) -> torch.Tensor:
    """Orthonormal DCT-II matrix C (8, 8): C[u, n] = a(u) cos((2n + 1) u pi / 16)."""
    n = torch.arange(8, dtype=torch.float64)
    c = torch.cos((2 * n[None, :] + 1) * n[:, None] * math.pi / 16) * math.sqrt(2 / 8)
    c[0] = math.sqrt(1 / 8)
    return c.to(dtype=dtype, device=device)


def _ste(exact: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Value of `exact`, gradient of `x` (straight-through)."""
    return x + (exact - x).detach()


def jpeg_approx(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """Differentiable JPEG round trip of images x (B, C, H, W) in [-1, 1], C in {1, 3}, at per-sample
    qualities (B,) (or one, broadcast); returns the decoded images in [-1, 1], same shape."""
    b, c, h, w = x.shape
    quality = torch.as_tensor(quality).reshape(-1).expand(b)
    pixels = _ste(((x + 1.0) * 127.5).clamp(0.0, 255.0).round(), (x + 1.0) * 127.5)
    mix = torch.tensor(_colour_matrix(c), dtype=x.dtype, device=x.device)
    centre = torch.zeros(c, dtype=x.dtype, device=x.device)
    centre[1:] = 128.0  # Cb, Cr are stored around 128
    planes = torch.einsum("ij,bjhw->bihw", mix, pixels) - 128.0 + centre[None, :, None, None]  # level shift
    ph, pw = -h % 8, -w % 8
    planes = F.pad(planes, (0, pw, 0, ph), mode="replicate") if ph or pw else planes
    hb, wb = planes.shape[2] // 8, planes.shape[3] // 8
    blocks = planes.reshape(b, c, hb, 8, wb, 8).permute(0, 1, 2, 4, 3, 5)
    d = _dct_matrix(x.dtype, x.device)
    coef = d @ blocks @ d.T
    tables = [quality_table(LUMA_TABLE if i == 0 else CHROMA_TABLE, quality) for i in range(c)]
    table = torch.stack(tables, 1).to(dtype=x.dtype, device=x.device)[:, :, None, None]  # (B, C, 1, 1, 8, 8)
    coef = _ste((coef / table).round(), coef / table) * table
    planes = (d.T @ coef @ d).permute(0, 1, 2, 4, 3, 5).reshape(b, c, hb * 8, wb * 8)[:, :, :h, :w] + 128.0
    planes = _ste(planes.round().clamp(0.0, 255.0), planes)  # the decoder's 8-bit Y (Cb, Cr) samples
    if c == 3:
        back = torch.linalg.inv(mix.double()).to(x.dtype)
        planes = torch.einsum("ij,bjhw->bihw", back, planes - centre[None, :, None, None])
        planes = _ste(planes.round().clamp(0.0, 255.0), planes)
    return planes / 127.5 - 1.0


def _colour_matrix(channels: int) -> tuple:
    """The encoder's colour transform: identity for grey, RGB -> YCbCr (JFIF, without the +128) for colour."""
    if channels == 1:
        return ((1.0,),)
    if channels == 3:
        return _RGB_TO_YCC
    raise ValueError(f"JPEG needs images with 1 or 3 channels, got {channels}")


def jpeg_codec(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """The real round trip through Pillow's JPEG encoder and decoder (4:4:4), per sample; not differentiable."""
    from PIL import Image

    b, c = x.shape[:2]
    quality = torch.as_tensor(quality).reshape(-1).expand(b)
    _colour_matrix(c)  # validates the channel count
    pixels = ((x.detach().double().cpu() + 1.0) * 127.5).clamp(0, 255).round().to(torch.uint8).numpy()
    out = np.empty_like(pixels)
    for i in range(b):
        img = Image.fromarray(pixels[i, 0] if c == 1 else np.moveaxis(pixels[i], 0, -1), "L" if c == 1 else "RGB")
        buffer = io.BytesIO()
        img.save(buffer, format="JPEG", quality=int(quality[i]), subsampling=0)
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            arr = np.asarray(decoded.convert("L" if c == 1 else "RGB"))
        out[i] = arr[None] if c == 1 else np.moveaxis(arr, -1, 0)
    return (torch.from_numpy(out).to(x.dtype) / 127.5 - 1.0).to(x.device)
