"""Datasets that install offline (see docs/DESIGN.md): images in [-1, 1], batch-first float32 tensors."""

from .images import image_folder
from .mnist import MNIST_SPLITS, mnist_split

__all__ = ["MNIST_SPLITS", "image_folder", "mnist_split"]
