"""The denoiser contract every prior implements: D(x_t, t) ~ E[x_0 | x_t] on one schedule."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from ..diffusion import Schedule, Time, expand_time

__all__ = ["PREDICTIONS", "Prior", "denoiser_from_eps", "denoiser_from_output", "clean_at_zero"]

PREDICTIONS = ("epsilon", "v_prediction", "sample")


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


def denoiser_from_output(
    schedule: Schedule, x_t: torch.Tensor, t: Time, output: torch.Tensor, prediction: str
) -> torch.Tensor:
    """x0 estimate from a network output (B, C or 2C, ...) that predicts `prediction`.

    epsilon: Tweedie (`denoiser_from_eps`); v_prediction: sqrt(abar_t) x_t - sqrt(1 - abar_t) v;
    sample: the output itself. A learned-variance output with 2C channels uses its first C.
    """
    c = x_t.shape[1]
    if output.shape[1] == 2 * c:
        output = output[:, :c]
    if output.shape != x_t.shape:
        raise ValueError(f"network output {tuple(output.shape)} does not match x_t {tuple(x_t.shape)}")
    if prediction == "epsilon":
        return denoiser_from_eps(schedule, x_t, t, output)
    if prediction == "v_prediction":
        a = schedule.abar(t)
        return expand_time(a.sqrt(), x_t) * x_t - expand_time((1.0 - a).sqrt(), x_t) * output
    if prediction == "sample":
        return output
    raise ValueError(f"unknown prediction type {prediction!r}; allowed: {', '.join(PREDICTIONS)}")


def clean_at_zero(x_t: torch.Tensor, t: Time, x0_hat: torch.Tensor) -> torch.Tensor:
    """D(x, 0) = x: x0_hat with the samples whose time index is 0 replaced by x_t."""
    zero = torch.as_tensor(t, device=x_t.device) == 0
    if not bool(zero.any()):
        return x0_hat
    return torch.where(expand_time(zero.to(x_t.dtype), x_t) > 0, x_t, x0_hat)
