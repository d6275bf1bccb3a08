"""Poisson (photon-count) noise at a given peak, as in DCPS (docs/measurements.md).

The forward output a (in the image convention [-1, 1]) is read as an intensity u = (a + 1) / 2 in [0, 1];
a detector with `peak` photons at u = 1 counts k ~ Poisson(peak * u) per entry, and the observation is
reported in a's units, y = 2 k / peak - 1 (so y is comparable with A(x) and PNG-writable).

Log-likelihood (per sample, summed over entries), with k = (y + 1) peak / 2:
    log g_y(x) = sum k log lam - lam - lgamma(k + 1),   lam = peak * delta * softplus(u / delta)
The softplus floor (delta = 0.01) keeps lam > 0 and the gradient non-zero for u <= 0 (a negative
intensity has no photon meaning; lam = peak * u to 1e-8 relative for u >= 0.2). k may be any real >= 0
(lgamma is the continuous relaxation of k!), so the likelihood is differentiable in everything.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["PoissonNoise", "SOFT_FLOOR"]

#: width delta of the softplus floor of the rate (in intensity units)
SOFT_FLOOR = 0.01


#: the largest photon count at white: torch.poisson draws int64 counts (about 9.2e18), and far below that the
#: noise (relative std 1 / sqrt(peak)) is already under float32 resolution
MAX_PEAK = 1e15


@dataclass(frozen=True)
class PoissonNoise:
    """k ~ Poisson(peak * (a + 1) / 2) per entry; y = 2 k / peak - 1.

    Attributes:
        peak: expected photon count of a white entry (a = 1), finite and > 0.
    """

    peak: float

    def __post_init__(self):
        real = isinstance(self.peak, numbers.Real) and not isinstance(self.peak, bool)  # NumPy numbers too
        if not (real and math.isfinite(self.peak) and 0 < self.peak <= MAX_PEAK):
            raise ValueError(
                f"Poisson peak (photons at white) must be a number in (0, {MAX_PEAK:g}], got {self.peak!r} "
                "(counts above that overflow the sampler's integers; the noise is negligible long before)"
            )
        object.__setattr__(self, "peak", float(self.peak))

    @property
    def spec(self) -> str:
        return f"poisson:{self.peak:g}"

    def counts(self, y: torch.Tensor) -> torch.Tensor:
        """k = (y + 1) peak / 2, the photon counts an observation stands for."""
        return (y + 1.0) * (self.peak / 2.0)

    def rate(self, a: torch.Tensor) -> torch.Tensor:
        """lam = peak * delta * softplus(u / delta), u = (a + 1) / 2 (the likelihood's smooth rate)."""
        return self.peak * SOFT_FLOOR * F.softplus((a + 1.0) / (2.0 * SOFT_FLOOR))

    def observe(self, x: torch.Tensor, operator, generator: torch.Generator) -> torch.Tensor:
        """y = 2 k / peak - 1, k ~ Poisson(peak * max(u, 0)) drawn from `generator` on the CPU."""
        a = operator.exact_forward(x)
        lam = (self.peak * ((a.double() + 1.0) / 2.0).clamp_min(0.0)).cpu()
        k = torch.poisson(lam, generator=generator)
        return (2.0 * k / self.peak - 1.0).to(device=a.device, dtype=a.dtype)

    def log_likelihood_of(self, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """log p(y | A(x) = a) per sample, (B,); log lam in a form that stays finite deep below u = 0."""
        k = self.counts(y)
        z = (a + 1.0) / (2.0 * SOFT_FLOOR)
        log_softplus = torch.where(z < -20.0, z, F.softplus(z).clamp_min(1e-30).log())  # softplus(z) ~ e^z there
        log_lam = math.log(self.peak * SOFT_FLOOR) + log_softplus
        return (k * log_lam - log_lam.exp() - torch.lgamma(k + 1.0)).flatten(1).sum(1)

    def log_likelihood(self, x: torch.Tensor, y: torch.Tensor, operator) -> torch.Tensor:
        return self.log_likelihood_of(operator.forward(x), y)

    def gauss_newton(self, a: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(score, weight) of the weighted-least-squares model of the counts, log p ~ -(k - lam)^2 / (2 max(k, 1)),
        with dlam/da = peak / 2 (the floor ignored): score = (peak / 2) (k - lam) / max(k, 1), weight =
        (peak / 2)^2 / max(k, 1). It is DPS's Poisson approximation; unlike the exact Fisher weight it stays
        bounded where the floor flattens the rate (the exact likelihood still scores every candidate)."""
        k = self.counts(y)
        var = k.clamp_min(1.0)
        half = self.peak / 2.0
        return half * (k - self.rate(a)) / var, half * half / var

    def dps_residual(self, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """DPS's weighted residual for Poisson data (Chung et al. 2023, sec. 3.2): (y - a) / sqrt(y + 1), Var(y)
        being proportional to y + 1 (floored at 1 / peak); weight 1 at mid-grey y = 0. The mean is taken as
        a itself (no floor): with the floor, a dark entry's residual vanishes as a -> -inf and DPS's
        normalised step ||r||^-1 grad ||r||^2 diverges."""
        return (y - a) / (y + 1.0).clamp_min(1.0 / self.peak).sqrt()

    def squared_residual(self, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Pearson's (k - lam)^2 / lam per entry (lam the likelihood's rate at a): mean 1 where the truth's
        rate is well above the softplus floor; an entry the truth leaves dark (k = 0) adds only lam."""
        lam = self.rate(a)
        return (self.counts(y) - lam) ** 2 / lam
