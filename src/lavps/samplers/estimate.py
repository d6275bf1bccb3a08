"""Before a long run: the network passes it will make and, from one timed pass, about how long it takes.

The passes are counted, not modelled: the sampler runs its whole loop once on one sample path with the
prior's network replaced by a free stand-in (`cost.STAND_IN`), so every sampler, preset and setting is
counted by the code that runs it. The seconds are that count times one timed pass of the real network at
the run's batch size (a forward; a forward + backward where the sampler differentiates through it), plus
the stand-in loop's own time (operators, amortizer) per sample. An estimate: the machine's load changes it.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass

import torch

from ..device import prior_device
from ..operators.noise import InverseProblem
from .base import Sampler
from .cost import STAND_IN, Cost

__all__ = ["RunEstimate", "estimate_run", "announce_if_long", "LONG_SECONDS", "MIN_PASSES"]

#: a run expected to take longer than this is announced (its passes and seconds) before it starts
LONG_SECONDS = 30.0
#: below this many network passes in all, no pass is timed (the timing would cost a share of the run)
MIN_PASSES = 100


@dataclass(frozen=True)
class RunEstimate:
    """Passes per sample path (`cost`), the number of batches and the expected wall seconds."""

    cost: Cost
    batches: int
    seconds: float

    def line(self, samples: int, what: str = "sample(s)") -> str:
        c = self.cost
        passes = f"{c.denoiser_forwards} denoiser forwards, {c.denoiser_backwards} backwards"
        if c.amortizer_forwards:
            passes += f", {c.amortizer_forwards} amortizer forwards"
        return (
            f"expected: {passes} per sample path; {samples} {what} in {self.batches} batch(es), about "
            f"{_duration(self.seconds)} (one timed pass of the network on this machine now)"
        )


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= 2 * size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} s"


def estimate_run(sampler: Sampler, problem: InverseProblem, samples: int, batch_size: int | None) -> RunEstimate | None:
    """Count the passes of one sample path (stand-in network), then time one pass of the real network.

    None for a short run by its count (fewer than MIN_PASSES network passes in all): timing the network
    would then cost a noticeable share of the run itself.
    """
    token = STAND_IN.set(True)
    start = time.perf_counter()
    try:
        counted = sampler.sample(problem, 1, seed=[0]).cost
    finally:
        STAND_IN.reset(token)
    loop_seconds = time.perf_counter() - start  # the loop without the network, per sample path
    chunk = min(samples, batch_size or samples)
    batches = math.ceil(samples / chunk)
    if counted.denoiser_forwards * batches < MIN_PASSES:
        return None
    timed = min(chunk, 8)  # paths per timed pass (a batch of 8 shows most of a GPU's batching gain)
    forward, backward = _timed_pass(sampler.prior, timed, counted.denoiser_backwards > 0)
    network = counted.denoiser_forwards * forward + counted.denoiser_backwards * backward
    return RunEstimate(counted, batches, samples * (network / timed + loop_seconds))


def announce_if_long(
    sampler: Sampler, problem: InverseProblem, samples: int, batch_size: int | None, what: str = "sample(s)"
) -> None:
    """One line on stderr before a run expected to take longer than LONG_SECONDS; silent otherwise."""
    try:
        estimate = estimate_run(sampler, problem, samples, batch_size)
    except Exception:  # the stand-in network is not the real one: the real run reports its own errors
        return
    if estimate is not None and estimate.seconds >= LONG_SECONDS:
        print(estimate.line(samples, what), file=sys.stderr, flush=True)


def _timed_pass(prior, batch: int, with_backward: bool) -> tuple[float, float]:
    """Seconds of one forward of the prior's network on `batch` paths, and of the extra backward."""
    device = prior_device(prior)
    t = prior.schedule.num_steps // 2
    # a local generator: timing leaves the global (CPU or CUDA) RNG untouched
    x = torch.randn((batch, *prior.shape), generator=torch.Generator().manual_seed(0)).to(device)

    def run(grad: bool) -> float:
        y = x.detach().requires_grad_(grad)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        with torch.set_grad_enabled(grad):
            out = prior.denoise(y, t)
            if grad:
                out.sum().backward()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - start

    run(False)  # warm-up (lazy initialisation, kernel selection)
    forward = run(False)
    backward = max(run(True) - forward, 0.0) if with_backward else 0.0
    return forward, backward
