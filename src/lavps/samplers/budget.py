"""Refuse a run that cannot fit in memory before it starts, and say which --batch-size would.

The working memory of one sample path, measured on the shipped 1x32x32 prior (peak resident memory of
64 samples minus 1, CPU, fp32): DPS 8.6 MB, LAVPS `tiny` 9.1 MB, DDRM 2.9 MB, i.e. about 2200x / 700x
the 4 KB of one float32 image; activations grow with the pixels, so the same factor of the signal size
is used for any prior. An estimate, not a promise: a run it lets through can still run out of memory.
"""

from __future__ import annotations

import math

import torch

__all__ = ["bytes_per_sample", "check_memory", "available_bytes"]

#: working bytes per sample path / bytes of one float32 signal (measured, see the module docstring)
_FACTOR = {"ddrm": 800, "diffpir": 800}
_GRADIENT_FACTOR = 2500  # dps, mgdm, lavps and the others: a backward pass through the network


def bytes_per_sample(sampler: str, shape: tuple[int, ...]) -> int:
    """Estimated working memory of one sample path of `sampler` on signals of `shape`."""
    return _FACTOR.get(sampler, _GRADIENT_FACTOR) * 4 * math.prod(shape)


def available_bytes(device: torch.device | str = "cpu") -> int | None:
    """Free memory where the samples are computed: MemAvailable on Linux, the free GPU memory on CUDA;
    None where it cannot be read (no check then)."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def check_memory(
    sampler: str, shape: tuple[int, ...], samples: int, batch_size: int | None, device="cpu", particles: int = 0
) -> None:
    """ValueError (one line) when the N samples themselves, or one batch of sample paths, cannot fit; with
    `particles` K each output carries K paths of its own (`--particles`), so a batch costs K times as much."""
    free = available_bytes(device)
    if free is None:
        return
    gb = 2**30
    kept = samples * 4 * math.prod(shape) * 3  # the samples, their mean/std and the PNG-ready copy
    if kept > free:
        raise ValueError(
            f"--samples {samples} cannot fit: the samples alone need {kept / gb:.3g} GB, {free / gb:.3g} GB "
            f"is free; draw fewer (e.g. in several runs with different --seed)"
        )
    batch = min(samples, batch_size or samples)
    paths = max(1, int(particles))
    per_output = bytes_per_sample(sampler, shape) * paths
    if kept + batch * per_output > free:
        fits = int((free - kept) // per_output)
        what = f"{batch} sample paths at once" if paths == 1 else f"{batch} outputs of {paths} particles at once"
        remedy = f"use --batch-size {fits} (or fewer)" if fits >= 1 else "use fewer --particles"
        raise ValueError(
            f"{what} need about {(kept + batch * per_output) / gb:.3g} GB, {free / gb:.3g} GB is free; {remedy}"
        )
