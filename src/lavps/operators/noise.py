"""Noise models (Gaussian here, Poisson in poisson.py) and the inverse problem a sampler is called with.

A noise model gives y from A(x) (`observe`), its log-likelihood log p(y | a) with a = A(x)
(`log_likelihood_of`), a Gauss-Newton model of it in a (`gauss_newton`: score and weight per entry)
and DPS's residual. `InverseProblem.local_quadratic` combines them with the measurement's Jacobian.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch

from .cg import conjugate_gradient
from .measurement import Linearization, Measurement, OperatorShapeError
from .poisson import PoissonNoise

__all__ = ["GaussianNoise", "PoissonNoise", "NoiseModel", "InverseProblem", "LocalQuadratic", "parse_noise_spec"]


@dataclass(frozen=True)
class GaussianNoise:
    """y = A x + sigma n, n ~ N(0, I). log g_y(x) = -||y - A x||^2 / (2 sigma^2) per sample."""

    sigma: float

    def __post_init__(self):
        real = isinstance(self.sigma, numbers.Real) and not isinstance(self.sigma, bool)  # NumPy floats too
        if not (real and math.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"noise level sigma_y must be a finite number > 0, got {self.sigma!r}")
        object.__setattr__(self, "sigma", float(self.sigma))

    @property
    def spec(self) -> str:
        return f"gaussian:{self.sigma:g}"

    def measure(self, x: torch.Tensor, operator: Measurement, noise: torch.Tensor) -> torch.Tensor:
        """y = A(x) + sigma * restrict(noise) for a given standard normal tensor of A(x)'s shape (A's
        `exact_forward`: the real codec for JPEG)."""
        ax = operator.exact_forward(x)
        return ax + self.sigma * operator.restrict(noise.to(device=ax.device, dtype=ax.dtype))

    def observe(self, x: torch.Tensor, operator: Measurement, generator: torch.Generator) -> torch.Tensor:
        """`measure` with the standard normal drawn from `generator` (CPU), moved to x's device."""
        return self.measure(x, operator, torch.randn(x.shape[0], *operator.out_shape, generator=generator))

    def log_likelihood_of(self, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """-||y - a||^2 / (2 sigma^2) per sample, (B,)."""
        r = (y - a).flatten(1)
        return -(r * r).sum(1) / (2.0 * self.sigma**2)

    def log_likelihood(self, x: torch.Tensor, y: torch.Tensor, operator: Measurement) -> torch.Tensor:
        return self.log_likelihood_of(operator.forward(x), y)

    def gauss_newton(self, a: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(score d log p / d a, weight -d^2 log p / d a^2) = ((y - a) / sigma^2, 1 / sigma^2): exact."""
        return (y - a) / self.sigma**2, torch.full_like(a, 1.0 / self.sigma**2)

    def dps_residual(self, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """DPS's residual y - a (its step is -zeta grad ||r||^2 / ||r||)."""
        return y - a

    def squared_residual(self, a: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """((y - a) / sigma)^2 per entry: mean 1 over the entries when a is the truth's A(x*)."""
        return ((y - a) / self.sigma) ** 2


NoiseModel = GaussianNoise | PoissonNoise
_NOISE_KINDS = {
    "gaussian": (GaussianNoise, "gaussian:SIGMA (SIGMA > 0)"),
    "poisson": (PoissonNoise, "poisson:PEAK (photons at white, > 0)"),
}


def parse_noise_spec(spec: str | float | NoiseModel) -> NoiseModel:
    """`gaussian:SIGMA` or `poisson:PEAK` (a bare number is a Gaussian SIGMA) -> a noise model."""
    if isinstance(spec, (GaussianNoise, PoissonNoise)):
        return spec
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return GaussianNoise(float(spec))
    allowed = "; ".join(usage for _, usage in _NOISE_KINDS.values())
    kind, _, arg = str(spec).strip().partition(":")
    if kind.lower() not in _NOISE_KINDS or not arg:
        raise ValueError(f"invalid noise spec {spec!r}; allowed: {allowed}")
    cls, usage = _NOISE_KINDS[kind.lower()]
    try:
        value = float(arg)
    except ValueError:
        raise ValueError(f"invalid noise spec {spec!r}: {arg!r} is not a number ({usage})") from None
    try:
        return cls(value)
    except ValueError as e:
        raise ValueError(f"invalid noise spec {spec!r}: {e}") from None


@dataclass(frozen=True)
class LocalQuadratic:
    """Gauss-Newton model of log g_y around x: log g_y(x + d) ~ const + <gradient, d> - <J d, W J d> / 2.

    Attributes:
        gradient: J^T score(A(x), y), (B, *in_shape): the likelihood's gradient at x.
        linearization: A(x) and J products at x. weight: W (Fisher weight per observation entry).
    """

    gradient: torch.Tensor
    linearization: Linearization
    weight: torch.Tensor

    def curvature(self, v: torch.Tensor) -> torch.Tensor:
        """J^T W J v."""
        lin = self.linearization
        return lin.vjp(self.weight * lin.jvp(v))

    def curvature_diagonal(self, probes: int, seed: int = 0) -> torch.Tensor:
        """An unbiased estimate of diag(J^T W J) from `probes` products J^T (W^(1/2) xi), xi Rademacher in
        the observation space: E[(J^T W^(1/2) xi)^2] = diag(J^T W J). One VJP per probe and no JVP (the
        JVP by double backward costs ~3 VJPs through a decoder); never negative; exact where J is diagonal
        (a pixel-wise map). The probes come from a fixed seed and are shared by every sample, so sample i
        never depends on its batch-mates."""
        if probes < 1:
            raise ValueError(f"probes must be >= 1, got {probes}")
        value = self.linearization.value
        root = self.weight.to(value.dtype).sqrt()
        gen = torch.Generator().manual_seed(seed)
        total = torch.zeros_like(self.gradient)
        for _ in range(probes):
            xi = (torch.randint(0, 2, (1, *value.shape[1:]), generator=gen) * 2 - 1).to(value.dtype)
            g = self.linearization.vjp(root * xi.to(value.device).expand_as(value))
            total = total + g * g
        return total / probes


@dataclass(frozen=True)
class InverseProblem:
    """An observation y (B, *out_shape), the operator that made it and the noise model.

    Validated on construction: finite y, a shape the operator produces, a batch the operator fits.
    A single observation (batch 1) is broadcast to any number of posterior samples by `expand`.
    """

    y: torch.Tensor
    operator: Measurement
    noise: NoiseModel

    def __post_init__(self):
        if not isinstance(self.y, torch.Tensor):
            raise TypeError(f"y must be a torch.Tensor, got {type(self.y).__name__}")
        if not self.y.is_floating_point():  # an integer y would round every residual y - A x
            raise TypeError(f"y must be a real float tensor, got {str(self.y.dtype).removeprefix('torch.')}")
        if not isinstance(self.operator, Measurement):
            raise TypeError(
                f"operator must be a lavps Measurement or LinearOperator (lavps.operator(spec), lavps.operators."
                f"as_operator / as_measurement for your own), got {type(self.operator).__name__}"
            )
        if isinstance(self.noise, (str, numbers.Real)):  # 0.05, "gaussian:0.05", "poisson:100"
            object.__setattr__(self, "noise", parse_noise_spec(self.noise))
        if not torch.isfinite(self.y).all():
            bad = int((~torch.isfinite(self.y)).sum())
            raise ValueError(f"observation y contains {bad} NaN or inf entries")
        self.operator.check_observation(self.y)

    @property
    def sigma(self) -> float:
        if not isinstance(self.noise, GaussianNoise):
            raise ValueError(f"the noise model {self.noise.spec} has no sigma_y (Gaussian noise only)")
        return self.noise.sigma

    @property
    def is_linear_gaussian(self) -> bool:
        """A linear operator with Gaussian noise: the closed forms (A^T, A^+, SVD) apply."""
        return bool(self.operator.is_linear) and isinstance(self.noise, GaussianNoise)

    def require_linear_gaussian(self, who: str) -> None:
        """Raise one clear line if `who` (a sampler) needs a linear operator with Gaussian noise."""
        if not self.operator.is_linear:
            raise ValueError(
                f"{who} needs a linear operator; {self.operator.name} is non-linear: use dps, mgdm or lavps"
            )
        if not isinstance(self.noise, GaussianNoise):
            raise ValueError(f"{who} needs Gaussian noise, got {self.noise.spec}: use dps, mgdm or lavps")

    def check_signal_shape(self, shape: tuple[int, ...]) -> None:
        """Raise if the operator does not act on signals of the prior's shape."""
        if tuple(self.operator.in_shape) != tuple(shape):
            raise OperatorShapeError(
                f"operator {self.operator.name} acts on signals of shape {tuple(self.operator.in_shape)}, "
                f"but the prior's signals have shape {tuple(shape)}"
            )

    def expand(self, batch_size: int) -> InverseProblem:
        """The same problem with y repeated for batch_size samples (y must hold 1 or batch_size rows)."""
        if self.y.shape[0] == batch_size:
            return self
        if self.y.shape[0] != 1:
            raise OperatorShapeError(f"y holds {self.y.shape[0]} observations, cannot serve a batch of {batch_size}")
        return InverseProblem(self.y.expand(batch_size, *self.y.shape[1:]), self.operator, self.noise)

    def log_likelihood(self, x: torch.Tensor) -> torch.Tensor:
        """log g_y(x) per sample, shape (B,)."""
        return self.noise.log_likelihood(x, self.y.to(x.device), self.operator)

    def likelihood_gradient(self, x: torch.Tensor) -> torch.Tensor:
        """grad_x log g_y(x): A^T (y - A x) / sigma^2 in closed form for a linear operator with Gaussian
        noise, else J^T score(A(x), y) through the measurement's Jacobian at x."""
        if self.is_linear_gaussian:
            return self.operator.adjoint(self.y.to(x.device) - self.operator.forward(x)) / self.sigma**2
        return self.local_quadratic(x).gradient

    def consistent_point(self, x: torch.Tensor) -> torch.Tensor:
        """`Measurement.consistent_point` of x for this y under Gaussian noise; x itself under any other."""
        if not isinstance(self.noise, GaussianNoise):
            return x
        return self.operator.consistent_point(x, self.y.to(device=x.device, dtype=x.dtype), self.sigma)

    def discrepancy(self, x: torch.Tensor) -> torch.Tensor:
        """Morozov's discrepancy of x per sample, (B,): the noise model's squared residual (Gaussian:
        ((y - A x) / sigma)^2; Poisson: Pearson's (k - lam)^2 / lam) averaged over the measured entries (a
        mask's unmeasured ones left out). About 1 for the truth (Gaussian: chi^2 / d_y, within
        sqrt(2 / d_y)); a sample far above it does not explain y (`lavps.samplers.restarts`)."""
        y = self.y.to(device=x.device, dtype=x.dtype)  # outside a sampler (restarts) y is where the caller left it
        per_entry = self.noise.squared_residual(self.operator.forward(x), y).flatten(1)
        measured = self.operator.restrict(torch.ones_like(y)).flatten(1)  # per row: a per-sample mask differs
        return (per_entry * measured).sum(1) / measured.sum(1).clamp_min(1.0)

    def local_quadratic(self, x: torch.Tensor) -> LocalQuadratic:
        """The Gauss-Newton model of log g_y at x (exact for a linear operator with Gaussian noise)."""
        lin = self.operator.linearize(x)
        score, weight = self.noise.gauss_newton(lin.value, self.y.to(device=lin.value.device, dtype=lin.value.dtype))
        return LocalQuadratic(lin.vjp(score), lin, weight)

    def y_signal(self, at: torch.Tensor | None = None, iters: int = 20) -> torch.Tensor:
        """The observation brought into signal space: A^+ y for a linear operator with Gaussian noise;
        otherwise one damped Gauss-Newton step from `at` (required): at + (J^T W J + 1e-3 I)^-1 J^T score."""
        if self.is_linear_gaussian:
            return self.operator.pinv(self.y)
        if at is None:
            raise ValueError(
                f"{self.operator.name} with {self.noise.spec}: y_signal needs the point `at` to linearise at"
            )
        quad = self.local_quadratic(at)
        step = conjugate_gradient(lambda v: quad.curvature(v) + 1e-3 * v, quad.gradient, iters=iters, tol=1e-4)
        return at + step
