"""Paths of the networks shipped inside the package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["default_amortizer_path"]


def default_amortizer_path() -> Path:
    """The image amortizer trained against the shipped MNIST prior (motion blur, sigma_y = 0.05)."""
    return Path(str(resources.files("lavps") / "assets" / "mnist32_amortizer.safetensors"))
