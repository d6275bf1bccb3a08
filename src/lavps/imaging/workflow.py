"""The restore / degrade workflows on one image: operator resolution, simulation, posterior sampling and
the files a run leaves next to its outputs (PNG, JSON with settings, seeds, seconds, cost counts)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ..operators import GaussianNoise, InverseProblem, LinearOperator
from ..operators.spec import kernel_operator_from_file, load_operator, mask_operator_from_file, parse_operator_spec
from ..samplers.registry import build_sampler

__all__ = ["IMAGE_DEFAULTS", "OperatorSource", "resolve_operator", "simulate", "posterior_samples", "atomic_dir"]

#: Sampler settings for images in [-1, 1] (METHOD.md reference: lr 0.03, window 30 of N = 100).
IMAGE_DEFAULTS = {
    "steps": 100,
    "lr": 0.03,
    "adam_out": 5,
    "adam_in": 20,
    "window": 30,
    "dps_steps": 500,
    "dps_zeta": 1.0,
    "inner_steps": 3,
}


@dataclass(frozen=True)
class OperatorSource:
    """Where the operator comes from: a spec string (drawn from `seed`), a kernel, a mask, or a saved file."""

    spec: str | None = None
    kernel: str | None = None
    mask: str | None = None
    operator_file: str | None = None
    seed: int = 0

    def describe(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def resolve_operator(source: OperatorSource, image_shape: tuple[int, int, int]) -> LinearOperator:
    given = [v for v in (source.spec, source.kernel, source.mask, source.operator_file) if v is not None]
    if len(given) != 1:
        raise ValueError("give exactly one of --operator SPEC, --kernel FILE, --mask FILE, --operator-file FILE")
    if source.spec is not None:
        family = parse_operator_spec(source.spec, image_shape)
        return family.sample_one(torch.Generator().manual_seed(int(source.seed)))
    if source.kernel is not None:
        return kernel_operator_from_file(source.kernel, image_shape)
    if source.mask is not None:
        return mask_operator_from_file(source.mask, image_shape)
    op = load_operator(source.operator_file)
    if tuple(op.in_shape) != tuple(image_shape):
        raise ValueError(f"operator in {source.operator_file} acts on {op.in_shape}, the image is {image_shape}")
    return op


def simulate(clean: torch.Tensor, operator: LinearOperator, sigma: float, seed: int) -> torch.Tensor:
    """y = A x + sigma n with n drawn from `seed`."""
    noise = GaussianNoise(sigma)
    g = torch.Generator().manual_seed(int(seed) + 1)  # +1: not the stream that drew the operator
    with torch.no_grad():
        return noise.measure(clean, operator, torch.randn(clean.shape[0], *operator.out_shape, generator=g))


def posterior_samples(
    y: torch.Tensor,
    operator: LinearOperator,
    sigma: float,
    prior,
    sampler: str,
    samples: int,
    seed: int,
    options: dict | None = None,
    progress: bool = False,
    noise_on_device: bool = False,
):
    """Draw `samples` posterior samples for one observation; sample i uses seed + i (batch-independent).

    The prior is used where it is (see `lavps.priors.placement.place_prior`); noise_on_device: draw the noise on
    the prior's device instead of the CPU (docs/devices.md).
    """
    problem = InverseProblem(y, operator, GaussianNoise(sigma))
    problem.check_signal_shape(prior.shape)
    s = build_sampler(sampler, prior, {**IMAGE_DEFAULTS, **(options or {})})
    seeds = [seed + i for i in range(samples)]
    return s.sample(problem, samples, seed=seeds, progress=progress, noise_on_device=noise_on_device)


class atomic_dir:
    """Write into a temporary folder and move it to `path` only on success: no half-written outputs."""

    def __init__(self, path: str | Path, overwrite: bool = False):
        self.path = Path(path)
        if self.path.exists() and any(self.path.iterdir()) and not overwrite:
            raise FileExistsError(f"output folder {self.path} exists and is not empty (use --overwrite)")

    def __enter__(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        if self.path.exists():
            shutil.rmtree(self.path)
        os.replace(self.tmp, self.path)
        return False


def write_json(path: Path, payload: dict) -> None:
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n")


def timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")
