"""Spec kinds of the built-in non-linear measurements: `jpeg:Q`, `phase:S`, `hdr:S` (docs/measurements.md).

They join `parse_operator_spec` as any `ImageOperatorFamily` subclass does. None is random: a batch
repeats the spec's parameter per sample (JPEG, HDR) or shares the map (phase retrieval, whose output
shape depends on its parameter).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from .nonlinear import HighDynamicRange, JpegCompression, PhaseRetrieval
from .spec import ImageOperatorFamily

__all__ = ["JpegFamily", "PhaseRetrievalFamily", "HighDynamicRangeFamily"]


def _repeat(value: float, batch_size: int | None):
    return value if batch_size is None else torch.full((batch_size,), float(value), dtype=torch.float64)


@dataclass(frozen=True)
class JpegFamily(ImageOperatorFamily):
    """JPEG compression at one quality."""

    quality: int = 10
    kind: ClassVar[str] = "jpeg"
    usage: ClassVar[str] = "jpeg:QUALITY (integer JPEG quality in 1..100; non-linear)"
    random: ClassVar[bool] = False
    linear: ClassVar[bool] = False

    def _draw(self, batch_size, generator):
        return JpegCompression(self.image_shape, _repeat(self.quality, batch_size))


@dataclass(frozen=True)
class PhaseRetrievalFamily(ImageOperatorFamily):
    """Fourier magnitude of the image zero-padded by an oversampling factor."""

    oversampling: float = 2.0
    kind: ClassVar[str] = "phase"
    usage: ClassVar[str] = "phase:OVERSAMPLING (Fourier magnitude, factor in [1, 64), e.g. 2; non-linear)"
    random: ClassVar[bool] = False
    linear: ClassVar[bool] = False
    multimodal: ClassVar[bool] = True  # |F pad(u)| is blind to circular shifts and the point reflection

    def _draw(self, batch_size, generator):
        return PhaseRetrieval(self.image_shape, self.oversampling)


@dataclass(frozen=True)
class HighDynamicRangeFamily(ImageOperatorFamily):
    """clip(s x, -1, 1) at one scale s."""

    scale: float = 2.0
    kind: ClassVar[str] = "hdr"
    usage: ClassVar[str] = "hdr:SCALE (clip(SCALE * x, -1, 1), SCALE > 0, e.g. 2; non-linear)"
    random: ClassVar[bool] = False
    linear: ClassVar[bool] = False

    def _draw(self, batch_size, generator):
        return HighDynamicRange(self.image_shape, _repeat(self.scale, batch_size))
