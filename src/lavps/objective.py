"""The variational objective of MGDM's inner problem (METHOD.md section 4), used by BOTH the zero-shot
inner solver and the amortizer's training loss. This one function is the heart of LAVPS.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .diffusion import Schedule, Time, bridge_coefficients, expand_time
from .operators.noise import InverseProblem

__all__ = ["BridgePrior", "bridge_prior", "negative_elbo"]


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

    The last two terms are the constant of METHOD.md's formula made explicit, so that the second part
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
