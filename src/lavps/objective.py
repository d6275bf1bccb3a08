"""The variational objective of MGDM's inner problem (docs/METHOD.md section 4), used by BOTH the zero-shot
inner solver and the amortizer's training loss. This one function is the heart of LAVPS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .constants import CURVATURE_PROBES, DRAWS
from .diffusion import Schedule, Time, bridge_coefficients, expand_time
from .operators.cg import conjugate_gradient
from .operators.noise import InverseProblem

__all__ = [
    "BridgePrior",
    "bridge_prior",
    "negative_elbo",
    "bridge_sample_nll",
    "linearised_start",
    "linearised_log_std",
    "linearised_noise",
    "likelihood_precision",
    "gauss_newton_start",
    "CURVATURE_PROBES",
    "DRAWS",
]


@dataclass(frozen=True)
class BridgePrior:
    """The Gaussian prior N(m, s^2 I) of x_tau given (x0, x_t): q_{tau|0,t}(. | x0, x_t).

    Attributes:
        mean: m, same shape as the signal batch.
        log_std: log s, broadcastable to it ((), or (B, 1, ...) for per-sample times).
    """

    mean: torch.Tensor
    log_std: torch.Tensor

    def zero_shot_start(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The zero-shot initialisation (mu, rho) = (m, log s), rho expanded to mu's shape (views:
        the inner solver copies them into fresh leaves)."""
        return self.mean.detach(), self.log_std.expand_as(self.mean).detach()


def bridge_prior(schedule: Schedule, x0: torch.Tensor, x_t: torch.Tensor, tau: Time, t: Time) -> BridgePrior:
    """Bridge prior of x_tau for 0 <= tau < t with eta = 1; tau = 0 is the degenerate point mass (refused)."""
    tau_ = torch.as_tensor(tau)
    if bool((tau_ <= 0).any()):
        raise ValueError("the variational step needs tau > 0 (at tau = 0 the bridge is a point mass)")
    coef = bridge_coefficients(schedule, 0, tau, t, eta=1.0)
    return BridgePrior(coef.mean(x0, x_t), expand_time(coef.std.log(), x_t))


def negative_elbo(
    mu: torch.Tensor,
    rho: torch.Tensor,
    z: torch.Tensor,
    bridge: BridgePrior,
    tau: Time,
    denoise,
    problem: InverseProblem,
) -> torch.Tensor:
    """One-sample estimate of the negative ELBO, per sample (shape (B,)).

        x = mu + exp(rho) z
        L = ||y - A D(x, tau)||^2 / (2 sigma_y^2) + ||(x - m)/s||^2 / 2 - d/2 + sum(log s - rho)

    The last two terms are the constant of docs/METHOD.md's formula made explicit, so that the second part
    is an unbiased estimate of KL(q || N(m, s^2 I)) and the loss is comparable across problems
    (the amortizer's loss ratio). Gradients flow through the frozen denoiser into mu and rho.

    Args:
        mu, rho: variational mean and log standard deviation, shape (B, *shape).
        z: standard normal noise of the same shape (shared between candidates for a fair comparison).
        bridge: the prior N(m, s^2 I) of x_tau.
        tau: time index of x_tau (int or (B,) LongTensor).
        denoise: callable (x, tau) -> E[x0 | x_tau = x].
        problem: y, A and sigma_y.
    """
    x = mu + rho.exp() * z
    data = -problem.log_likelihood(denoise(x, tau))
    dims = tuple(range(1, x.ndim))
    white = (x - bridge.mean) / bridge.log_std.exp()  # log_std broadcasts: no (B, d) copy of it
    sum_log_s = bridge.log_std.expand_as(x).sum(dims)
    kl = 0.5 * (white * white).sum(dims) + sum_log_s - rho.sum(dims) - 0.5 * x[0].numel()
    return data + kl


def bridge_sample_nll(mu: torch.Tensor, rho: torch.Tensor, clean_bridge: BridgePrior) -> torch.Tensor:
    """Forward-KL (mass-covering) term of amortized training, per sample (shape (B,)):

        E_{x* ~ N(m*, s^2 I)} [ -log N(x*; mu, exp(2 rho)) ]
          = sum( ((m* - mu)^2 + s^2) / (2 exp(2 rho)) + rho ) + d log(2 pi) / 2,

    with N(m*, s^2 I) = q(x_tau | x, x_t) the bridge of the TRUE clean x (`bridge_prior(schedule, x, ...)`).
    In training (x, y, x_t) are drawn jointly, so x* is an exact draw of p(x_tau | x_t, y): this is the
    negative log-likelihood of posterior draws under the variational Gaussian, i.e. KL(p || q) up to p's
    entropy. Reverse KL (`negative_elbo`) under-disperses a mean-field Gaussian; this term penalises it.
    The expectation over the bridge noise is taken in closed form (no draw, no denoiser call): the same
    gradient in expectation as one draw x* = m* + s z, without its noise.
    """
    dims = tuple(range(1, mu.ndim))
    inv_var = (-2 * rho).exp()
    s2 = (2 * clean_bridge.log_std).exp()
    per = 0.5 * ((clean_bridge.mean - mu).square() + s2) * inv_var + rho
    return per.sum(dims) + 0.5 * math.log(2 * math.pi) * mu[0].numel()


def linearised_start(
    bridge: BridgePrior,
    x0: torch.Tensor,
    abar_tau: torch.Tensor,
    problem: InverseProblem,
    iters: int = 10,
    probes: int = CURVATURE_PROBES,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The inner problem's Gaussian-linearised solution, by CG (no denoiser call).

    Linearise the denoiser around the bridge mean, D(x, tau) ~ x0 + (x - m) / sqrt(abar_tau) (the
    current clean estimate x0 stands in for D(m)), so that negative_elbo's data part becomes the
    quadratic
        ||r0 - A d / sqrt(abar_tau)||^2 / (2 sigma_y^2) + ||d||^2 / (2 s^2),   d = x - m,  r0 = y - A x0,
    a Gaussian in x with precision (I + c A^T A) / s^2, c = s^2 / (abar_tau sigma_y^2). Returns the
    best diagonal Gaussian for it (the minimiser of negative_elbo's linearised form):
      mu  = m + d*, (I + c A^T A) d* = (s^2 / (sqrt(abar_tau) sigma_y^2)) A^T r0, `iters` CG steps per
            sample (few steps regularise further at high noise);
      rho = log s - log(1 + c diag(A^T A)) / 2, the mean-field variance 1 / diag(precision)
            (`LinearOperator.gram_diagonal`): observed coordinates shrink, unobserved ones keep s.

    A non-linear measurement or non-Gaussian noise goes through `gauss_newton_start` (the same solution
    with A replaced by its Jacobian at x0 and 1 / sigma_y^2 by the noise's Fisher weight; `probes`: the
    VJPs of its curvature diagonal).

    Args:
        bridge: the prior N(m, s^2 I) of x_tau. x0: current clean estimate (B, *shape).
        abar_tau: abar at tau, float64, scalar or (B,). problem: y, A, sigma_y (batch B).
    """
    if not problem.is_linear_gaussian:
        return gauss_newton_start(bridge, x0, abar_tau, problem, iters, probes)
    a, c = _linear_scales(bridge, abar_tau, problem, x0)
    op = problem.operator
    rhs = (c * a.sqrt()) * op.adjoint(problem.y - op.forward(x0))  # = s^2 / (sqrt(abar) sigma_y^2) A^T r0
    d = conjugate_gradient(_linearised_precision(op, c), rhs, iters=iters, tol=1e-4)
    mu = bridge.mean + d
    return mu.detach(), linearised_log_std(bridge, abar_tau, problem, mu).detach()


def gauss_newton_start(
    bridge: BridgePrior,
    x0: torch.Tensor,
    abar_tau: torch.Tensor,
    problem: InverseProblem,
    iters: int = 10,
    probes: int = CURVATURE_PROBES,
) -> tuple[torch.Tensor, torch.Tensor]:
    """`linearised_start` for any measurement and noise model, through the Gauss-Newton model of the
    log-likelihood at x0 (`InverseProblem.local_quadratic`: gradient J^T score, curvature J^T W J):

        (I + (s^2 / abar_tau) J^T W J) d* = (s^2 / sqrt(abar_tau)) J^T score,    mu = m + d*,
        rho = log s - log(1 + (s^2 / abar_tau) diag(J^T W J)) / 2.

    For a linear A with Gaussian noise (J = A, W = 1 / sigma_y^2, J^T score = A^T (y - A x0) / sigma_y^2)
    this is `linearised_start`'s closed form (tests/test_nonlinear_samplers.py checks it to 1e-6).

    The model is taken at the measurement's observation-consistent point x0' (`InverseProblem.consistent_point`;
    x0 itself but for hdr, whose clip is blind to a pixel saturated on the wrong side), with the bridge mean
    moved to match under the same linearisation: m' = m + sqrt(abar_tau) (x0' - x0). On the 24 reported digits
    of hdr:2 this took LAVPS's gap to MGDM-reference from -1.34 to +0.10 dB (results/nonlinear_tune3).
    """
    a, s2 = _time_scales(bridge, abar_tau, x0)
    moved = problem.consistent_point(x0)
    if moved is not x0:
        bridge = BridgePrior(bridge.mean + a.sqrt() * (moved - x0), bridge.log_std)
        x0 = moved
    quad = problem.local_quadratic(x0)
    rhs = (s2 / a.sqrt()) * quad.gradient
    d = conjugate_gradient(lambda v: v + (s2 / a) * quad.curvature(v), rhs, iters=iters, tol=1e-4)
    mu = (bridge.mean + d).detach()
    return mu, _gauss_newton_log_std(bridge, abar_tau, quad, mu, probes).detach()


def _time_scales(bridge: BridgePrior, abar_tau: torch.Tensor, like: torch.Tensor):
    """(abar_tau, s^2), broadcastable to and typed like `like`."""
    return expand_time(abar_tau, like).to(like.dtype), (2 * bridge.log_std).exp().to(like.dtype)


def _gauss_newton_log_std(
    bridge: BridgePrior, abar_tau: torch.Tensor, quad, like: torch.Tensor, probes: int = CURVATURE_PROBES
) -> torch.Tensor:
    """log s - log(1 + (s^2 / abar) diag(J^T W J)) / 2, the diagonal estimated from `probes` VJPs with
    Rademacher probes from a fixed seed (`LocalQuadratic.curvature_diagonal`)."""
    a, s2 = _time_scales(bridge, abar_tau, like)
    diag = quad.curvature_diagonal(probes).to(like.dtype)
    return (bridge.log_std.to(like.dtype) - 0.5 * torch.log1p((s2 / a) * diag)).expand_as(like)


def linearised_log_std(
    bridge: BridgePrior,
    abar_tau: torch.Tensor,
    problem: InverseProblem,
    like: torch.Tensor,
    at: torch.Tensor | None = None,
    probes: int = CURVATURE_PROBES,
) -> torch.Tensor:
    """rho = log s - log(1 + c diag(A^T A)) / 2, c = s^2 / (abar_tau sigma_y^2): the mean-field log-std of
    the Gaussian-linearised inner problem (see `linearised_start`), shaped and typed like `like`.
    A non-linear measurement or non-Gaussian noise needs the clean estimate `at` to linearise at (the
    Gauss-Newton form of `gauss_newton_start`)."""
    if not problem.is_linear_gaussian:
        if at is None:
            raise ValueError("linearised_log_std of a non-linear or non-Gaussian problem needs the point `at`")
        return _gauss_newton_log_std(bridge, abar_tau, problem.local_quadratic(at), like, probes)
    _, c = _linear_scales(bridge, abar_tau, problem, like)
    gram = problem.operator.gram_diagonal().to(device=like.device, dtype=like.dtype)
    return (bridge.log_std.to(like.dtype) - 0.5 * torch.log1p(c * gram)).expand_as(like)


def linearised_noise(
    bridge: BridgePrior,
    abar_tau: torch.Tensor,
    problem: InverseProblem,
    z: torch.Tensor,
    z_y: torch.Tensor,
    iters: int = 10,
) -> torch.Tensor:
    """Noise with the Gaussian-linearised inner problem's FULL covariance, in units of the bridge's std s:
    e ~ N(0, (I + c A^T A)^-1), c = s^2 / (abar_tau sigma_y^2), so that mu + s e is a draw of the linearised
    problem's Gaussian (precision (I + c A^T A) / s^2, `linearised_start`) around the mean mu.

    Perturb and solve: r = z + sqrt(c) A^T z_y has covariance I + c A^T A, so e = (I + c A^T A)^-1 r (CG,
    `iters` steps per sample) has the inverse. The mean-field log-std of `linearised_log_std` keeps only
    the diagonal of the precision, so it shrinks every pixel that A touches, also along directions A does
    not see (sr:4 measures one 4x4 block mean: 1 of 16 directions); this draw shrinks only what is measured.

    Args:
        bridge: the prior N(m, s^2 I) of x_tau. abar_tau: abar at tau (scalar or (B,)).
        problem: a linear-Gaussian problem (y = A x + sigma_y n). z: N(0, I) noise shaped like the signal
        batch; z_y: N(0, I) noise shaped like y.
    """
    if not problem.is_linear_gaussian:
        raise ValueError("the linearised draw needs a linear operator with Gaussian noise")
    _, c = _linear_scales(bridge, abar_tau, problem, z)
    op = problem.operator
    rhs = z + c.sqrt() * op.adjoint(z_y)
    return conjugate_gradient(_linearised_precision(op, c), rhs, iters=iters, tol=1e-6)


def _linearised_precision(op, c: torch.Tensor):
    """v -> (I + c A^T A) v: the linearised inner problem's precision in units of 1 / s^2."""
    return lambda v: v + c * op.adjoint(op.forward(v))


def likelihood_precision(abar_tau: torch.Tensor, problem: InverseProblem, like: torch.Tensor) -> torch.Tensor | None:
    """diag(A^T A) / (abar_tau sigma_y^2): the mean-field precision the linear-Gaussian likelihood adds to a
    draw of x_tau (the c diag(A^T A) / s^2 of `linearised_log_std`), broadcastable to `like`; None where
    the problem is not linear-Gaussian."""
    if not problem.is_linear_gaussian:
        return None
    a = expand_time(abar_tau, like).to(like.dtype)
    gram = problem.operator.gram_diagonal().to(device=like.device, dtype=like.dtype)
    return gram / (a * problem.sigma**2)


def _linear_scales(bridge: BridgePrior, abar_tau: torch.Tensor, problem: InverseProblem, like: torch.Tensor):
    """(abar_tau, c = s^2 / (abar_tau sigma_y^2)), broadcastable to and typed like `like`."""
    a = expand_time(abar_tau, like).to(like.dtype)
    return a, (2 * bridge.log_std).exp().to(like.dtype) / (a * problem.sigma**2)
