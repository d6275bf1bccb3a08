"""Inpainting masks for images: random box, random pixels, centre box, a given box, as `Mask` operators.

Every mask is 1 where a pixel is observed and 0 where it is missing, has the image's full shape
(C, H, W) (the same spatial pattern in every channel) or (B, C, H, W) with one mask per sample, so
`Mask` from basic.py applies unchanged (A = A^T = A^+, an orthogonal projection). Draws come only
from the given torch.Generator; mask i uses row i of each batched draw.
"""

from __future__ import annotations

import math

import torch

from .basic import Mask

__all__ = ["box_mask", "pixel_mask", "center_mask", "rect_mask", "mask_from_spatial"]


def _check_shape(image_shape: tuple[int, ...]) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in image_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"image_shape must be (C, H, W) with positive sizes, got {tuple(image_shape)}")
    return shape  # type: ignore[return-value]


def _check_fraction(value: float, what: str, allow_one: bool) -> None:
    ok = 0.0 < value <= 1.0 if allow_one else 0.0 < value < 1.0
    if not ok:
        raise ValueError(f"{what} must be in (0, {'1]' if allow_one else '1)'}, got {value!r}")


def mask_from_spatial(spatial: torch.Tensor, image_shape: tuple[int, int, int]) -> Mask:
    """Mask operator from a 0/1 pattern (H, W) or (B, H, W), repeated over the C channels."""
    c, h, w = _check_shape(image_shape)
    if spatial.ndim not in (2, 3) or tuple(spatial.shape[-2:]) != (h, w):
        raise ValueError(f"mask pattern of shape {tuple(spatial.shape)} does not fit images of size {h}x{w}")
    m = spatial.to(torch.float32).unsqueeze(-3)
    m = m.expand(*m.shape[:-3], c, h, w).contiguous()
    return Mask(m, (c, h, w))


def box_mask(
    image_shape: tuple[int, int, int],
    lo: float,
    hi: float,
    generator: torch.Generator,
    batch_size: int | None = None,
) -> Mask:
    """Hide one axis-aligned box per image; box height / H and width / W are drawn in U[lo, hi].

    Sides are round(u * size) clipped to [1, size - 1] (at least one row and column stay observed);
    the top-left corner is uniform over the positions where the box fits.
    """
    c, h, w = _check_shape(image_shape)
    _check_fraction(lo, "box side fraction lo", allow_one=False)
    _check_fraction(hi, "box side fraction hi", allow_one=False)
    if lo > hi:
        raise ValueError(f"box side fractions need lo <= hi, got lo={lo}, hi={hi}")
    b = 1 if batch_size is None else int(batch_size)
    u = torch.rand(b, 4, generator=generator, dtype=torch.float64)
    frac = lo + (hi - lo) * u[:, :2]
    bh = (frac[:, 0] * h).round().clamp(1, max(h - 1, 1)).long()
    bw = (frac[:, 1] * w).round().clamp(1, max(w - 1, 1)).long()
    top = (u[:, 2] * (h - bh + 1)).floor().long().clamp_max(h - bh)
    left = (u[:, 3] * (w - bw + 1)).floor().long().clamp_max(w - bw)
    rows, cols = torch.arange(h), torch.arange(w)
    in_rows = (rows[None] >= top[:, None]) & (rows[None] < (top + bh)[:, None])
    in_cols = (cols[None] >= left[:, None]) & (cols[None] < (left + bw)[:, None])
    hidden = in_rows[:, :, None] & in_cols[:, None, :]
    spatial = (~hidden).float()
    return mask_from_spatial(spatial[0] if batch_size is None else spatial, (c, h, w))


def pixel_mask(
    image_shape: tuple[int, int, int],
    fraction: float,
    generator: torch.Generator,
    batch_size: int | None = None,
) -> Mask:
    """Observe exactly max(1, round(fraction * H * W)) pixel locations per image, uniformly at random."""
    c, h, w = _check_shape(image_shape)
    _check_fraction(fraction, "observed pixel fraction", allow_one=True)
    b = 1 if batch_size is None else int(batch_size)
    n_obs = max(1, round(fraction * h * w))
    scores = torch.rand(b, h * w, generator=generator, dtype=torch.float64)
    idx = scores.topk(n_obs, dim=1).indices
    spatial = torch.zeros(b, h * w).scatter_(1, idx, 1.0).view(b, h, w)
    return mask_from_spatial(spatial[0] if batch_size is None else spatial, (c, h, w))


def _box_side(fraction: float, size: int) -> int:
    """The side in pixels of a box of side FRACTION on an axis of SIZE pixels: rounded half to even, as
    `box_mask`'s torch.round, and clipped to [1, size - 1]."""
    return min(max(round(fraction * size), 1), max(size - 1, 1))


def box_side_range(size: int, lo: float, hi: float) -> tuple[int, int]:
    """(smallest, largest) side in pixels that `box_mask` draws on an axis of SIZE pixels for side fractions in
    [lo, hi) (u in [0, 1)); it draws every side in between too (rounding is monotone, the fraction continuous).
    An end at exactly half a pixel counts only if fractions inside the range round to it: at hi the fraction is
    never reached, at lo only when u is exactly 0. lo == hi: the one side (a centred box's)."""
    if lo == hi:
        return _box_side(lo, size), _box_side(lo, size)
    low_edge, high_edge = lo * size, hi * size
    low = math.floor(low_edge) + 1 if low_edge % 1 == 0.5 else round(low_edge)  # just above k + 0.5: k + 1
    high = math.floor(high_edge) if high_edge % 1 == 0.5 else round(high_edge)  # just below k + 0.5: k
    clip = max(size - 1, 1)
    return min(max(low, 1), clip), min(max(high, 1), clip)


def center_mask(image_shape: tuple[int, int, int], fraction: float, batch_size: int | None = None) -> Mask:
    """Hide the centred box whose sides are round(fraction * H) x round(fraction * W) (clipped to [1, size-1])."""
    c, h, w = _check_shape(image_shape)
    _check_fraction(fraction, "centre box side fraction", allow_one=False)
    bh, bw = _box_side(fraction, h), _box_side(fraction, w)
    return rect_mask((c, h, w), (h - bh) // 2, (w - bw) // 2, bh, bw, batch_size)


def rect_mask(
    image_shape: tuple[int, int, int], top: int, left: int, height: int, width: int, batch_size: int | None = None
) -> Mask:
    """Hide the HEIGHT x WIDTH box whose top-left pixel is (TOP, LEFT), the same in every channel: a box
    `box_mask` draws when its sides are in the range it draws (it places a box anywhere it fits)."""
    c, h, w = _check_shape(image_shape)
    for name, value, least in (("TOP", top, 0), ("LEFT", left, 0), ("HEIGHT", height, 1), ("WIDTH", width, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    if top + height > h or left + width > w:
        raise ValueError(f"a {height}x{width} box at row {top}, column {left} does not fit the {h}x{w} image")
    spatial = torch.ones(h, w)
    spatial[top : top + height, left : left + width] = 0.0
    if batch_size is not None:
        spatial = spatial.expand(int(batch_size), h, w)
    return mask_from_spatial(spatial, (c, h, w))
