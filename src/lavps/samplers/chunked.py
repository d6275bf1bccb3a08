"""Many posterior samples in memory-bounded chunks, with the mean and std accumulated as they stream by.

Sample i always uses seed + i (its own generator), whatever the chunk it falls in, so chunking changes
no sample beyond float rounding (see `lavps.random`). Moments are merged in float64 (Chan et al.'s
parallel form of Welford's update): for chunks a, b with counts n_a, n_b, means m_a, m_b and sums of
squared deviations M_a, M_b,  m = m_a + (m_b - m_a) n_b / n,  M = M_a + M_b + (m_b - m_a)^2 n_a n_b / n.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..operators.noise import InverseProblem
from .base import Sampler
from .cost import Cost

__all__ = ["RunningMoments", "ChunkedResult", "sample_in_chunks"]


@dataclass
class RunningMoments:
    """Streaming mean and variance over the first axis of the tensors passed to `add`, in float64."""

    count: int = 0
    mean: torch.Tensor | None = None
    m2: torch.Tensor | None = None

    def add(self, batch: torch.Tensor) -> None:
        """Merge a chunk (B, *shape)."""
        x = batch.detach().cpu().to(torch.float64)  # on the CPU: float64 is not on every device
        n_b, mean_b = x.shape[0], x.mean(0)
        m2_b = ((x - mean_b) ** 2).sum(0)
        if self.count == 0:
            self.count, self.mean, self.m2 = n_b, mean_b, m2_b
            return
        n = self.count + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / n)
        self.m2 = self.m2 + m2_b + delta**2 * (self.count * n_b / n)
        self.count = n

    def std(self) -> torch.Tensor:
        """Unbiased standard deviation (n - 1 in the denominator); zeros for a single sample."""
        if self.count < 2:
            return torch.zeros_like(self.mean)
        return (self.m2 / (self.count - 1)).sqrt()


@dataclass
class ChunkedResult:
    """Samples (N, *shape) on the CPU, their mean and std (float32), the merged cost and info."""

    samples: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor
    cost: Cost
    seeds: list[int]
    info: dict = field(default_factory=dict)


def sample_in_chunks(
    sampler: Sampler,
    problem: InverseProblem,
    samples: int,
    seed: int = 0,
    batch_size: int | None = None,
    progress: bool = False,
    noise_on_device: bool = False,
) -> ChunkedResult:
    """Draw `samples` samples, at most `batch_size` at a time (None = all at once); sample i uses seed + i.

    Cost: seconds add up over chunks; pass counts are per sample path, the same for every chunk.
    Info lists (e.g. LAVPS's per-iteration guard win fractions) are averaged weighted by chunk size.
    """
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    chunk = samples if batch_size is None else int(batch_size)
    if chunk < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    moments, parts, infos = RunningMoments(), [], []
    cost = Cost()
    for start in range(0, samples, chunk):
        seeds = [seed + i for i in range(start, min(start + chunk, samples))]
        r = sampler.sample(problem, len(seeds), seed=seeds, progress=progress, noise_on_device=noise_on_device)
        moments.add(r.samples)
        parts.append(r.samples.cpu())
        infos.append((len(seeds), r.info))
        cost = Cost(
            seconds=cost.seconds + r.cost.seconds,
            denoiser_forwards=max(cost.denoiser_forwards, r.cost.denoiser_forwards),
            denoiser_backwards=max(cost.denoiser_backwards, r.cost.denoiser_backwards),
            amortizer_forwards=max(cost.amortizer_forwards, r.cost.amortizer_forwards),
            peak_memory_mb=max(
                (m for m in (cost.peak_memory_mb, r.cost.peak_memory_mb) if m is not None), default=None
            ),
        )
    return ChunkedResult(
        samples=torch.cat(parts),
        mean=moments.mean.float(),
        std=moments.std().float(),
        cost=cost,
        seeds=[seed + i for i in range(samples)],
        info=_merge_info(infos),
    )


def _merge_info(infos: list[tuple[int, dict]]) -> dict:
    """Per key: chunk-size-weighted mean of equally long float lists (also inside dicts, e.g. per-candidate
    guard wins); any other value is the first chunk's."""
    weights = [n for n, _ in infos]
    return _merge([info for _, info in infos], weights)


def _merge(values: list, weights: list[int]):
    first = values[0]
    if isinstance(first, dict) and all(isinstance(v, dict) and v.keys() == first.keys() for v in values):
        return {k: _merge([v[k] for v in values], weights) for k in first}
    numbers = (int, float)
    if isinstance(first, list) and all(
        isinstance(v, list) and len(v) == len(first) and all(isinstance(e, numbers) for e in v) for v in values
    ):
        total = sum(weights)
        return [sum(w * v[j] for w, v in zip(weights, values, strict=True)) / total for j in range(len(first))]
    return first
