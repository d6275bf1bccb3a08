"""Datasets that install offline (see docs/DESIGN.md): images in [-1, 1], batch-first float32 tensors."""

from .mnist import MNIST_SPLITS, mnist_split

__all__ = ["MNIST_SPLITS", "mnist_split"]
