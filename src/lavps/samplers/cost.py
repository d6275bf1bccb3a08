"""Cost accounting (docs/METHOD.md section 8): wall seconds and network passes per sample path."""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import asdict, dataclass

import torch

from ..diffusion import Time
from ..finite import check_finite

__all__ = ["Cost", "CountingDenoiser", "STAND_IN"]

#: True while a run is only counted (lavps.samplers.estimate): the network is replaced by a free stand-in
#: (D(x) = x / 2, differentiable), so the loop makes exactly its passes at almost no cost.
STAND_IN: ContextVar[bool] = ContextVar("lavps_stand_in", default=False)


@dataclass
class Cost:
    """Costs of one sampler call. Pass counts are per sample path (a batched call counts once)."""

    seconds: float = 0.0
    denoiser_forwards: int = 0
    denoiser_backwards: int = 0
    amortizer_forwards: int = 0
    peak_memory_mb: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


class CountingDenoiser:
    """Wraps prior.denoise; counts forwards, and backwards through a gradient hook on the output.

    On a CUDA device the peak-memory counter is reset at construction, so `cost().peak_memory_mb` is the
    peak GPU memory allocated during this sampler call (None on other devices).
    """

    def __init__(self, prior, device: torch.device | str = "cpu"):
        self.prior = prior
        self.device = torch.device(device)
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        self.forwards = 0
        self.backwards = 0
        self.amortizer_forwards = 0
        self._start = time.perf_counter()

    def __call__(self, x: torch.Tensor, t: Time) -> torch.Tensor:
        self.forwards += 1
        out = x * 0.5 if STAND_IN.get() else check_finite(self.prior.denoise(x, t), "the prior's denoiser", x)
        if out.requires_grad:
            out.register_hook(self._count_backward)
        return out

    def _count_backward(self, grad: torch.Tensor) -> None:
        self.backwards += 1

    def cost(self) -> Cost:
        """Costs so far; on CUDA the queued kernels are waited for first, so the seconds are real."""
        peak = None
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        if self.device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(self.device) / 2**20
        return Cost(
            seconds=time.perf_counter() - self._start,
            denoiser_forwards=self.forwards,
            denoiser_backwards=self.backwards,
            amortizer_forwards=self.amortizer_forwards,
            peak_memory_mb=peak,
        )
