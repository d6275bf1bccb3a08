"""Putting a prior on a device in a precision (docs/devices.md).

Only the prior's network changes device and dtype; schedules stay float64 on the CPU, samplers, likelihoods
and amortizers float32. A placed prior keeps the fingerprint of the prior it was (`prior_fingerprint`), so
networks trained against the fp32 prior are still accepted.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

import torch
from torch import nn

from ..device import precision_dtype, resolve_device
from .specs import FINGERPRINT_ATTR, prior_fingerprint

__all__ = ["place_prior", "QuantizedPrior"]


class QuantizedPrior:
    """A prior without a network (e.g. the exact Gaussian mixture) evaluated as if it were one in `dtype`.

    D(x, t) = round(D_exact(round(x), t)), round = cast to dtype and back: the input and output of the
    denoiser carry `dtype`'s precision, which is what a low-precision network does to its surroundings.
    """

    def __init__(self, prior, dtype: torch.dtype):
        self.prior, self.dtype = prior, dtype
        self.schedule, self.shape = prior.schedule, tuple(prior.shape)
        setattr(self, FINGERPRINT_ATTR, prior_fingerprint(prior))

    def denoise(self, x_t: torch.Tensor, t) -> torch.Tensor:
        out = self.prior.denoise(x_t.to(self.dtype).to(x_t.dtype), t)
        return out.to(self.dtype).to(x_t.dtype)

    def __getattr__(self, name):  # everything else (sample, posterior, ...) is the wrapped prior's
        return getattr(self.__dict__["prior"], name)


def place_prior(prior, device: str | torch.device | None = "cpu", precision: str | torch.dtype = "fp32"):
    """Put the prior's network on `device` in `precision`; returns the prior to use.

    A prior that is an `nn.Module` (image priors, adapters) is moved and its floating-point weights cast
    in place, like `nn.Module.to` (its denoise casts x to the weights' dtype and eps back to x's dtype).
    A prior without weights runs on the CPU; a precision other than fp32 wraps it in `QuantizedPrior`.
    Either way the prior keeps the fingerprint of its fp32 weights, so amortizers trained on it still fit.
    """
    dev = resolve_device(device)
    dtype = precision_dtype(precision)
    if isinstance(prior, nn.Module):
        _check_movable(prior, dev, dtype)
        if dtype != torch.float32 and getattr(prior, FINGERPRINT_ATTR, None) is None:
            setattr(prior, FINGERPRINT_ATTR, prior_fingerprint(prior))  # of the weights as trained
        return _move(prior, dev, dtype)
    if dev.type != "cpu":
        raise ValueError(f"the {type(prior).__name__} prior has no network and runs on the CPU only, not {dev}")
    return prior if dtype == torch.float32 else QuantizedPrior(prior, dtype)


def _move(prior: nn.Module, device: torch.device, dtype: torch.dtype) -> nn.Module:
    """`prior` on `device`, its weights in `dtype` but for its `fp32_parts` (e.g. a latent prior's decoder:
    its finite-difference Jacobian products lose 200% in bf16, 0.4% in fp32). Those parts are lifted out
    during the cast, so their weights are never rounded to `dtype` and back."""
    parts = {name: getattr(prior, name) for name in getattr(prior, "fp32_parts", ())}
    try:
        for name in parts:
            setattr(prior, name, None)
        with _quiet_diffusers():
            prior.to(device=device, dtype=dtype)
    finally:
        for name, part in parts.items():
            setattr(prior, name, part)
    for part in parts.values():
        _place_part(part, device)
    return prior


def _place_part(part: nn.Module, device: torch.device) -> None:
    """`part` on `device` in float32, passing `to` only what changes: a diffusers model asked for a dtype
    warns about its fp32 modules even when nothing is cast."""
    tensors = [*part.parameters(), *part.buffers()]
    if any(t.device != device for t in tensors):
        part.to(device=device)
    if any(t.is_floating_point() and t.dtype != torch.float32 for t in [*part.parameters(), *part.buffers()]):
        with _quiet_diffusers():  # the cast to float32 is what lavps wants: diffusers' warning is noise here
            part.to(dtype=torch.float32)


@contextmanager
def _quiet_diffusers():
    """diffusers' warnings (its logger, not Python warnings) held back, e.g. "modules ... that should be kept
    in float32" when `to(dtype=...)` is called on one of its models on purpose."""
    logger = logging.getLogger("diffusers")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _check_movable(prior: nn.Module, device: torch.device, dtype: torch.dtype) -> None:
    """A module prior without floating-point weights (e.g. `edm:` over a plain function that captures its
    network) cannot be moved or cast by lavps: asked to, it would silently stay fp32 on the CPU."""
    if device.type == "cpu" and dtype == torch.float32:
        return
    if any(t.is_floating_point() for t in [*prior.parameters(), *prior.buffers()]):
        return
    asked = ", ".join(x for x in (None if device.type == "cpu" else str(device), _name(dtype)) if x)
    raise ValueError(
        f"the {type(prior).__name__} prior registers no weights, so lavps cannot put it on {asked}: "
        "return a torch.nn.Module from the factory (its weights then move and cast), or place its network "
        "yourself and keep the defaults (cpu, fp32)"
    )


def _name(dtype: torch.dtype) -> str | None:
    return None if dtype == torch.float32 else str(dtype).removeprefix("torch.")
