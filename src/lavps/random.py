"""Explicit noise sources: every draw in lavps goes through one of these, never the global RNG.

`BatchNoise` uses one generator for the whole batch (fast; sample i's noise depends on its position
and the batch size, but not on the values of its batch-mates).

`PerSampleNoise` gives every sample its own generator (seed_i), so sample i receives the same noise
whatever batch it runs in. What that guarantees for a sampler's OUTPUT:
- batch-mates: at a fixed batch size, sample i is bit-identical whatever the other seeds and
  observations in the batch (every per-sample quantity -- norms, step sizes, the LAVPS guard -- is
  computed per sample, and the networks' batched kernels do not mix rows);
- batch size: across batch SIZES (e.g. `restore --batch-size`, or one sample alone versus in a batch)
  sample i is identical only up to float rounding, because batched kernels may sum in another order.
  MGDM and LAVPS keep that difference at the rounding level; DPS's guidance (a normalised gradient
  step every grid step) can amplify it over long runs, so do not expect bit-equality there either.

Where the draws happen (docs/devices.md): by default on the CPU, then moved to the signal's device, so a
seed gives bit-identical noise on every device. With `on_device=True` each seed also seeds a generator
on the target device (CUDA's Philox stream: different numbers from the CPU's, reproducible on that
device type, no host-to-device copy); on the CPU both are the same.
"""

from __future__ import annotations

import hashlib
import numbers
from collections.abc import Iterable, Sequence

import numpy as np
import torch

__all__ = [
    "NoiseSource",
    "BatchNoise",
    "PerSampleNoise",
    "GroupedNoise",
    "make_noise",
    "derive_seed",
    "name_seed",
    "check_seed",
    "check_count",
]


def check_seed(seed) -> int:
    """Seeds are integers: a float such as 1.5 would be truncated by the generators yet recorded as given;
    torch's generators take signed 64-bit ones. Returned as an int (a NumPy integer seeds the same stream as
    its value, and is recorded as a JSON number)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    if not -(2**63) <= seed < 2**63:
        raise ValueError(f"seed must be in {-(2**63)}..{2**63 - 1} (signed 64-bit), got {seed}")
    return int(seed)


def check_count(value, name: str) -> int:
    """A count (samples, batch_size) is an integer >= 1: a bool or a float (2.0, 1.5) is refused, not cast."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= 1, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


class NoiseSource:
    """Draws standard normal tensors whose first axis is the batch."""

    batch_size: int

    def randn(self, shape: Sequence[int], dtype: torch.dtype = torch.float32, device="cpu") -> torch.Tensor:
        raise NotImplementedError

    def randn_like(self, x: torch.Tensor) -> torch.Tensor:
        return self.randn(x.shape, x.dtype, x.device)

    def rand(self, shape: Sequence[int], dtype: torch.dtype = torch.float64) -> torch.Tensor:
        raise NotImplementedError

    def _check(self, shape: Sequence[int]) -> None:
        if shape[0] != self.batch_size:
            raise ValueError(f"noise source made for batch {self.batch_size}, asked for shape {tuple(shape)}")


class _Generators:
    """One seeded generator per device (created on first use); the CPU one always exists."""

    def __init__(self, seed: int, on_device: bool):
        self.seed, self.on_device = int(seed), on_device
        self.by_device = {"cpu": torch.Generator().manual_seed(self.seed)}

    def draw_device(self, device) -> torch.device:
        return torch.device(device) if self.on_device else torch.device("cpu")

    def get(self, device: torch.device) -> torch.Generator:
        key = str(device)
        if key not in self.by_device:
            self.by_device[key] = torch.Generator(device=device).manual_seed(self.seed)
        return self.by_device[key]


class BatchNoise(NoiseSource):
    def __init__(self, seed: int, batch_size: int, on_device: bool = False):
        self.batch_size = batch_size
        self._gens = _Generators(seed, on_device)
        self.generator = self._gens.get(torch.device("cpu"))

    def randn(self, shape, dtype=torch.float32, device="cpu"):
        self._check(shape)
        where = self._gens.draw_device(device)
        return torch.randn(tuple(shape), generator=self._gens.get(where), dtype=dtype, device=where).to(device)

    def rand(self, shape, dtype=torch.float64):
        self._check(shape)
        return torch.rand(tuple(shape), generator=self.generator, dtype=dtype)


class PerSampleNoise(NoiseSource):
    def __init__(self, seeds: Sequence[int], on_device: bool = False):
        self.seeds = [int(s) for s in seeds]
        self.batch_size = len(self.seeds)
        self._gens = [_Generators(s, on_device) for s in self.seeds]
        self.generators = [g.get(torch.device("cpu")) for g in self._gens]

    def randn(self, shape, dtype=torch.float32, device="cpu"):
        self._check(shape)
        where = self._gens[0].draw_device(device)
        rows = [torch.randn(tuple(shape[1:]), generator=g.get(where), dtype=dtype, device=where) for g in self._gens]
        return torch.stack(rows).to(device)

    def rand(self, shape, dtype=torch.float64):
        self._check(shape)
        return torch.stack([torch.rand(tuple(shape[1:]), generator=g, dtype=dtype) for g in self.generators])


class GroupedNoise(NoiseSource):
    """Rows in groups of `group` consecutive rows, one generator per group (seeds[i] for rows i g .. i g + g - 1):
    a group's noise never depends on the other groups (weighted particles: one group per output)."""

    def __init__(self, seeds: Sequence[int], group: int, on_device: bool = False):
        self.seeds, self.group = [int(s) for s in seeds], int(group)
        self.batch_size = len(self.seeds) * self.group
        self._gens = [_Generators(s, on_device) for s in self.seeds]

    def randn(self, shape, dtype=torch.float32, device="cpu"):
        self._check(shape)
        where = self._gens[0].draw_device(device)
        size = (self.group, *shape[1:])
        return torch.cat([torch.randn(size, generator=g.get(where), dtype=dtype, device=where) for g in self._gens]).to(
            device
        )

    def rand(self, shape, dtype=torch.float64):
        self._check(shape)
        size = (self.group, *shape[1:])
        return torch.cat([torch.rand(size, generator=g.get(torch.device("cpu")), dtype=dtype) for g in self._gens])


def make_noise(
    seed: int | Sequence[int] | NoiseSource, batch_size: int, per_sample: bool = False, on_device: bool = False
) -> NoiseSource:
    """One seed -> BatchNoise (or per-sample seeds seed, seed+1, ... if per_sample); a list -> PerSampleNoise;
    a NoiseSource (made for batch_size) is used as it is.

    on_device: draw with generators on the signal's device instead of the CPU (see the module docstring).
    """
    if isinstance(seed, NoiseSource):
        if seed.batch_size != batch_size:
            raise ValueError(f"noise source made for batch {seed.batch_size}, the batch is {batch_size}")
        return seed
    if isinstance(seed, torch.Tensor):
        seed = seed.tolist()  # an integer tensor's values: 0-d one seed, 1-d per-sample seeds
    if isinstance(seed, (str, bytes, bool)) or not isinstance(seed, (numbers.Integral, Iterable)):
        raise TypeError(f"seed must be an integer, a list of per-sample integer seeds or a NoiseSource, got {seed!r}")
    if not isinstance(seed, numbers.Integral):
        seeds = [check_seed(s) for s in seed]
        if len(seeds) != batch_size:
            raise ValueError(f"got {len(seeds)} seeds for a batch of {batch_size}")
        return PerSampleNoise(seeds, on_device)
    seed = check_seed(seed)
    if per_sample:
        check_seed(seed + batch_size - 1)  # sample i uses seed + i
        return PerSampleNoise([seed + i for i in range(batch_size)], on_device)
    return BatchNoise(seed, batch_size, on_device)


def derive_seed(*values: int) -> int:
    """A 63-bit seed mixed from non-negative integers (numpy SeedSequence): derive_seed(run, step, chunk)."""
    return int(np.random.SeedSequence([int(v) for v in values]).generate_state(1, np.uint64)[0] >> 1)


def name_seed(seed: int, name: str) -> int:
    """A 63-bit seed from a run seed and a name (stable across processes and platforms: sha256)."""
    digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
    return derive_seed(int(seed), digest)
