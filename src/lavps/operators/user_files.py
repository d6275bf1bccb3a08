"""Operators from a user's own files: a measured blur kernel (`--kernel`), an inpainting mask (`--mask`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .basic import Mask
from .blur import CircularBlur
from .image_masks import mask_from_spatial
from .spec import RectMaskFamily

__all__ = ["kernel_operator_from_file", "mask_operator_from_file", "hidden_box"]


def _read_array(path: str | Path, suffixes: tuple[str, ...], what: str) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix not in suffixes:
        raise ValueError(f"{what} file {path} has an unsupported extension; use one of {', '.join(suffixes)}")
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False).astype(np.float64)
        if suffix == ".txt":
            return np.loadtxt(path, ndmin=2, dtype=np.float64)
        from PIL import Image

        with Image.open(path) as img:
            img = img.convert("L") if img.mode in ("RGB", "RGBA", "P", "LA", "1", "CMYK") else img
            return np.asarray(img, dtype=np.float64)
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read {what} file {path}: {err}") from None


def kernel_operator_from_file(path: str | Path, image_shape: tuple[int, int, int]) -> CircularBlur:
    """A measured blur kernel (.npy, .png or .txt whitespace matrix), normalised to sum 1.

    The kernel's centre pixel is (kh // 2, kw // 2) (see blur.py); any size up to the image size is
    accepted. Entries may be slightly negative (estimated kernels often are); the sum must be > 0.
    """
    k = _read_array(path, (".npy", ".png", ".txt"), "blur kernel")
    if k.ndim != 2:
        raise ValueError(f"blur kernel in {path} must be a 2-D array, got shape {k.shape}")
    if not np.isfinite(k).all():
        raise ValueError(f"blur kernel in {path} contains NaN or inf")
    if not k.sum() > 0:
        raise ValueError(f"blur kernel in {path} must have a positive sum to be normalised, got {k.sum():g}")
    if k.sum() < 0.01 * np.abs(k).sum():  # normalising would amplify by 1 / sum: a gain of 1e7 for [1, -0.9999999]
        raise ValueError(
            f"blur kernel in {path} nearly cancels (sum {k.sum():g} against {np.abs(k).sum():g} in absolute value): "
            "normalised to sum 1 it would amplify the image; is it a blur kernel?"
        )
    return CircularBlur(torch.from_numpy(k / k.sum()), image_shape)


def mask_operator_from_file(path: str | Path, image_shape: tuple[int, int, int]) -> Mask:
    """A user's inpainting mask (.png or .npy of shape (H, W) or (C, H, W)); nonzero = observed.

    A mask that hides exactly one box, the same in every channel, and observes at one level (0 and 255, 0 and
    1: no soft values) gets that box's spec as its family (`rect:TOP:LEFT:HEIGHT:WIDTH`, whose operator is
    this one, checked), so LAVPS's `auto` knows it as a box a box family draws (`BoxMaskFamily.covers`);
    any other mask has no family (unknown)."""
    m = _read_array(path, (".npy", ".png"), "mask")
    if not np.isfinite(m).all():
        raise ValueError(f"mask in {path} contains NaN or inf")
    shape = tuple(int(s) for s in image_shape)
    observed = torch.from_numpy(m != 0).float()
    if not bool(observed.any()):  # would "restore" into unconditional prior draws without a word
        raise ValueError(f"mask in {path} observes no pixel (all zero); nonzero = observed")
    if m.ndim == 3 and tuple(m.shape) == shape:
        op = Mask(observed, shape)
    elif m.ndim == 2 and tuple(m.shape) == shape[1:]:
        op = mask_from_spatial(observed, shape)  # type: ignore[arg-type]
    else:
        raise ValueError(f"mask in {path} has shape {m.shape}, expected (H, W) = {shape[1:]} or (C, H, W) = {shape}")
    one_level = np.unique(m[m != 0]).size == 1  # a soft mask (several observed levels) is not a box's draw
    op.family = hidden_box(op) if one_level else None
    return op


def hidden_box(op: Mask) -> str | None:
    """The `rect` spec whose operator equals `op` (the box around its hidden pixels, if that box is all it
    hides, in every channel), or None (also for a per-sample mask)."""
    if op.batch_size is not None:
        return None
    hidden = (op.mask == 0).any(dim=0)  # (H, W): hidden in some channel
    rows, cols = hidden.any(dim=1).nonzero().flatten(), hidden.any(dim=0).nonzero().flatten()
    if rows.numel() == 0:  # nothing hidden
        return None
    top, left = int(rows[0]), int(cols[0])
    try:
        box = RectMaskFamily(tuple(op.in_shape), top, left, int(rows[-1]) - top + 1, int(cols[-1]) - left + 1)
    except ValueError:  # the box around the hidden pixels is the whole image: no box spec hides that
        return None
    return box.spec if torch.equal(box.sample_one(torch.Generator()).mask, op.mask) else None
