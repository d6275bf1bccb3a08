"""Base sampler: owns validation, randomness, the loop, progress, callback and cost counting.

Each method writes `init` and a small `step`; the state carried across steps is an explicit object.
Settings are given at construction, the problem at call time, so one sampler serves a dataset.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from ..device import prior_device
from ..finite import NonFiniteError
from ..operators.noise import InverseProblem
from ..random import NoiseSource, check_count, make_noise
from .cost import Cost, CountingDenoiser

__all__ = ["Sampler", "SampleResult", "Context", "output_seeds"]


@dataclass
class SampleResult:
    """Samples (B, *shape) and the cost record of the call."""

    samples: torch.Tensor
    cost: Cost
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """What a step may use: the (batch-expanded) problem, the counted denoiser, the noise source."""

    problem: InverseProblem | None
    denoise: CountingDenoiser
    noise: NoiseSource
    batch_size: int
    shape: tuple[int, ...]
    dtype: torch.dtype
    device: torch.device = torch.device("cpu")
    info: dict[str, Any] = field(default_factory=dict)

    def randn(self) -> torch.Tensor:
        """Standard normal (B, *shape), drawn on the CPU from the seeded generators, moved to the device."""
        return self.noise.randn((self.batch_size, *self.shape), self.dtype, self.device)


class Sampler:
    """Base class. Subclasses define `name`, `needs_problem`, `init`, `step`, and `grid` or `plan`."""

    name = "sampler"
    #: what the progress bar says (default: the name); e.g. LAVPS's `fastest` preset runs its amortized-only path
    label: str | None = None
    needs_problem = True
    #: the sampling grid T_0 < ... < T_{N-1} that the default `plan` walks down
    grid: torch.Tensor

    def __init__(self, prior, dtype: torch.dtype = torch.float32):
        self.prior = prior
        self.schedule = prior.schedule
        self.dtype = dtype

    # -- to implement -------------------------------------------------------------------
    def plan(self) -> Sequence[Any]:
        """The list of steps the loop walks through: by default the pairs (T_i, T_{i-1}) of `self.grid`,
        from its top down to T_0 (DDIM, DDRM, DiffPIR); samplers that walk triples override it."""
        g = self.grid.tolist()
        return [(g[i], g[i - 1]) for i in range(len(g) - 1, 0, -1)]

    def init(self, ctx: Context) -> Any:
        raise NotImplementedError

    def step(self, state: Any, step: Any, index: int, ctx: Context) -> Any:
        raise NotImplementedError

    def finish(self, state: Any, ctx: Context) -> torch.Tensor:
        return state.x0

    # -- the loop -----------------------------------------------------------------------
    def sample(
        self,
        problem: InverseProblem | None,
        batch_size: int,
        seed: int | Sequence[int] = 0,
        per_sample_noise: bool = False,
        progress: bool = False,
        callback: Callable[[int, Any], None] | None = None,
        noise_on_device: bool = False,
    ) -> SampleResult:
        """Draw batch_size samples of p(x | y) (or of the prior for unconditional samplers).

        Args:
            problem: observation, operator and noise model (None only for unconditional samplers).
                A problem with one observation is broadcast to the batch.
            batch_size: number of samples.
            seed: one seed (a batch generator, or seed + i per sample with per_sample_noise) or a
                list of per-sample seeds (sample i then never depends on its batch-mates).
            progress: show a progress bar.
            callback: called as callback(index, state) after every step.
            noise_on_device: draw the noise with per-sample generators on the prior's device instead of
                on the CPU (faster on a GPU; the numbers then differ from the CPU's, see docs/devices.md).
        """
        check_count(batch_size, "batch_size")
        device = prior_device(self.prior)
        if problem is not None:
            problem.check_signal_shape(self.prior.shape)
            self.check_problem(problem)
            problem = problem.expand(batch_size)
            if problem.y.device != device:
                problem = InverseProblem(problem.y.to(device), problem.operator, problem.noise)
        elif self.needs_problem:
            raise ValueError(f"{self.name} needs an inverse problem (y, operator, noise)")
        ctx = Context(
            problem=problem,
            denoise=CountingDenoiser(self.prior, device),
            noise=make_noise(seed, batch_size, per_sample_noise, noise_on_device),
            batch_size=batch_size,
            shape=tuple(self.prior.shape),
            dtype=self.dtype,
            device=device,
        )
        steps = self.plan()
        index = -1
        try:
            state = self.init(ctx)
            for index, step in enumerate(tqdm(steps, desc=self.label or self.name, disable=not progress, leave=False)):
                state = self.step(state, step, index, ctx)
                if callback is not None:
                    callback(index, state)
        except NonFiniteError as e:  # say where: the sampler and its step
            where = "at the start" if index < 0 else f"at step {index + 1} of {len(steps)}"
            raise NonFiniteError(f"{self.name} {where}: {e}") from None
        samples = self.finish(state, ctx).detach()
        return SampleResult(samples=samples, cost=self._cost(ctx), info=ctx.info)

    def _cost(self, ctx: Context) -> Cost:
        return ctx.denoise.cost()

    def check_problem(self, problem: InverseProblem) -> None:
        """ValueError for a problem this sampler would return garbage on (none here; LAVPS has a noise floor)."""


def output_seeds(problem, batch_size: int, seed: int | Sequence[int], who: str) -> list[int]:
    """The per-output seeds of a wrapper that needs an inverse problem (`who`: 'particles', 'restarts'):
    seed + i for an int, else the given list; one clear error for no problem, a bad batch or a wrong count."""
    check_count(batch_size, "batch_size")
    if problem is None:
        raise ValueError(f"{who} need an inverse problem (y, operator, noise)")
    single = isinstance(seed, numbers.Integral)
    seeds = [int(seed) + i for i in range(batch_size)] if single else [int(s) for s in seed]
    if len(seeds) != batch_size:
        raise ValueError(f"got {len(seeds)} seeds for a batch of {batch_size}")
    return seeds
