"""Variance-exploding (EDM / k-diffusion style) denoisers D(x, sigma) as priors on a discrete VP schedule.

Karras et al., "Elucidating the Design Space of Diffusion-Based Generative Models" (NeurIPS 2022).
A VE denoiser sees x = x_0 + sigma n. The VP state x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps
rescaled by 1 / sqrt(abar_t) is exactly that, with sigma_t = sqrt((1 - abar_t) / abar_t), so
    D_VP(x_t, t) = D_VE(x_t / sqrt(abar_t), sigma_t).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..diffusion import Schedule, Time, expand_time
from .base import clean_at_zero

__all__ = ["VEDenoiserPrior"]


class VEDenoiserPrior(torch.nn.Module):
    """Any callable D(x, sigma) -> E[x_0 | x_0 + sigma n = x] seen through the lavps denoiser contract.

    Args:
        denoiser: called as denoiser(x, sigma) with x of shape (B, *shape) and sigma of shape (B,)
            in x's dtype and device. A `torch.nn.Module` is registered (it moves with .to()).
        shape: event shape of one signal, e.g. (3, 256, 256).
        schedule: the VP schedule the samplers run on (default: linear, K = 1000).
    """

    def __init__(
        self,
        denoiser: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        shape: tuple[int, ...],
        schedule: Schedule | None = None,
    ):
        super().__init__()
        if not callable(denoiser):
            raise TypeError(f"denoiser must be callable as D(x, sigma), got {type(denoiser).__name__}")
        self.denoiser = denoiser
        self.shape = tuple(int(s) for s in shape)
        self.schedule = schedule if schedule is not None else Schedule.linear()

    def check_differentiable(self) -> None:
        """ValueError unless D's output depends differentiably on x (one probe forward). Samplers that guide
        by gradients through D (DPS, MGDM, LAVPS) need it; a D under no_grad or .detach() would leave MGDM's
        samples blind to the observation without any error. DDRM and DiffPIR do not ask."""
        x = torch.randn(1, *self.shape, generator=torch.Generator().manual_seed(0))
        dtype = next((p.dtype for p in self.parameters() if p.is_floating_point()), x.dtype)
        device = next((p.device for p in self.parameters()), x.device)
        x = x.to(device=device, dtype=dtype).requires_grad_(True)
        with torch.enable_grad():
            out = self.denoise(x, self.schedule.num_steps // 2)
        if not out.requires_grad:
            raise ValueError(
                "the prior's denoiser D(x, sigma) returns no gradient with respect to x (no_grad or .detach() in "
                "it?): DPS, MGDM and LAVPS guide through it; use --sampler ddrm or diffpir, or make D differentiable"
            )

    def denoise(self, x_t: torch.Tensor, t: Time) -> torch.Tensor:
        """D_VE(x_t / sqrt(abar_t), sigma_t) for x_t of shape (B, *shape); t an int or a (B,) LongTensor."""
        if tuple(x_t.shape[1:]) != self.shape:
            raise ValueError(f"expected x_t of shape (B, {', '.join(map(str, self.shape))}), got {tuple(x_t.shape)}")
        if isinstance(t, int) and t == 0:
            return x_t
        t_ = torch.as_tensor(t, dtype=torch.long).cpu().expand(x_t.shape[0])
        # the network never sees sigma = 0: index 0 is evaluated at index 1 and replaced by x_t
        a = self.schedule.abar(t_.clamp(min=1))
        # the network's dtype (lavps.priors.placement may cast it); float64 is cast before it is moved
        dtype = next((p.dtype for p in self.parameters() if p.is_floating_point()), x_t.dtype)
        sigma = self.schedule.sigma(t_.clamp(min=1)).to(dtype).to(x_t.device)
        out = self.denoiser((x_t / expand_time(a.sqrt(), x_t)).to(dtype), sigma)
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"the VE denoiser must return a torch.Tensor, got {type(out).__name__}")
        out = out.to(x_t.dtype)
        if out.shape != x_t.shape:
            raise ValueError(f"the VE denoiser returned shape {tuple(out.shape)}, expected {tuple(x_t.shape)}")
        return clean_at_zero(x_t, t_, out)

    forward = denoise
