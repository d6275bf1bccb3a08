"""The restore / degrade workflows on one image: where the operator comes from, simulating an observation,
and writing outputs atomically (PNG, JSON with settings, seeds, seconds, cost counts)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from ..operators import Measurement, NoiseModel, parse_noise_spec
from ..operators.files import load_operator
from ..operators.spec import draw_operator, parse_operator_spec
from ..operators.user_files import kernel_operator_from_file, mask_operator_from_file

__all__ = ["OperatorSource", "resolve_operator", "simulate", "timestamp"]


@dataclass(frozen=True)
class OperatorSource:
    """Where the operator comes from: a spec string (random kinds drawn from `seed`), a kernel, a mask,
    or an operator file saved by degrade."""

    spec: str | None = None
    kernel: str | None = None
    mask: str | None = None
    operator_file: str | None = None
    seed: int | None = None

    def describe(self, image_shape: tuple[int, int, int]) -> dict:
        """What to record: the source, plus the seed only when a random spec was drawn with it."""
        out = {k: str(v) for k, v in self.__dict__.items() if v is not None and k != "seed"}
        if self.spec is not None and parse_operator_spec(self.spec, image_shape).random:
            out["seed"] = self.seed
        return out


def resolve_operator(source: OperatorSource, image_shape: tuple[int, int, int]) -> Measurement:
    """The operator of `source` for images of shape (C, H, W); a random spec without a seed is refused."""
    given = [v for v in (source.spec, source.kernel, source.mask, source.operator_file) if v is not None]
    if len(given) != 1:
        raise ValueError("give exactly one of --operator SPEC, --kernel FILE, --mask FILE, --operator-file FILE")
    if source.spec is not None:
        return draw_operator(source.spec, image_shape, source.seed)
    if source.kernel is not None:
        return kernel_operator_from_file(source.kernel, image_shape)
    if source.mask is not None:
        return mask_operator_from_file(source.mask, image_shape)
    op = load_operator(source.operator_file)
    if tuple(op.in_shape) != tuple(image_shape):
        raise ValueError(f"operator in {source.operator_file} acts on {op.in_shape}, the image is {image_shape}")
    return op


def simulate(clean: torch.Tensor, operator: Measurement, sigma: float | NoiseModel, seed: int) -> torch.Tensor:
    """y = A x + sigma n (or any noise model's draw given A(x), e.g. Poisson counts), x (B, C, H, W), with
    the noise drawn from seed + 1 (seed itself draws a random operator)."""
    noise = parse_noise_spec(sigma)
    g = torch.Generator().manual_seed(int(seed) + 1)  # +1: not the stream that drew the operator
    with torch.no_grad():
        return noise.observe(clean, operator, g)


def timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")
