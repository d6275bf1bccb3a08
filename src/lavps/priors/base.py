"""The denoiser contract every prior implements: D(x_t, t) ~ E[x_0 | x_t] on one schedule."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from ..diffusion import Schedule, Time, expand_time

__all__ = ["Prior", "denoiser_from_eps"]


@runtime_checkable
class Prior(Protocol):
    """A diffusion prior seen through its denoiser.

    Attributes:
        schedule: the DDPM schedule the denoiser was trained on.
        shape: the event shape of one signal, e.g. (d,) or (C, H, W).
    """

    schedule: Schedule
    shape: tuple[int, ...]

    def denoise(self, x_t: torch.Tensor, t: Time) -> torch.Tensor:
        """E[x_0 | x_t] estimate for x_t of shape (B, *shape); t an int or a (B,) LongTensor."""
        ...


def denoiser_from_eps(schedule: Schedule, x_t: torch.Tensor, t: Time, eps_hat: torch.Tensor) -> torch.Tensor:
    """Tweedie: D(x_t, t) = (x_t - sqrt(1 - abar_t) eps_hat) / sqrt(abar_t)."""
    a = schedule.abar(t)
    return (x_t - expand_time((1.0 - a).sqrt(), x_t) * eps_hat) / expand_time(a.sqrt(), x_t)
