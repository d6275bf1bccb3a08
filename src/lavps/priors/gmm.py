"""Exact Gaussian-mixture prior: closed-form denoiser, prior sampling, exact linear-Gaussian posterior.

The noised prior at time t is again a mixture, with means sqrt(abar_t) mu_k and diagonal covariances
abar_t Sigma_k + (1 - abar_t) I, so D(x_t, t) = E[x_0 | x_t] is exact (docs/METHOD.md section 7).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..diffusion import Schedule, Time, expand_time
from ..operators.base import LinearOperator

__all__ = ["GaussianMixturePrior", "grid_mixture", "MixturePosterior"]


class GaussianMixturePrior:
    """Mixture sum_k w_k N(mu_k, diag(v_k)) in R^d with an exact denoiser.

    Args:
        weights: (K,) non-negative, normalised internally.
        means: (K, d).
        variances: (K, d) diagonal covariances, or (K,) isotropic per component (default: ones).
        schedule: the diffusion schedule (default DDPM linear, K = 1000).
    """

    def __init__(
        self,
        weights: torch.Tensor,
        means: torch.Tensor,
        variances: torch.Tensor | None = None,
        schedule: Schedule | None = None,
    ):
        means = torch.as_tensor(means, dtype=torch.float64)
        if means.ndim != 2:
            raise ValueError(f"means must have shape (K, d), got {tuple(means.shape)}")
        k, d = means.shape
        weights = torch.as_tensor(weights, dtype=torch.float64)
        if weights.shape != (k,) or (weights < 0).any() or weights.sum() <= 0:
            raise ValueError(f"weights must be {k} non-negative numbers with a positive sum")
        if variances is None:
            variances = torch.ones(k, dtype=torch.float64)
        variances = torch.as_tensor(variances, dtype=torch.float64)
        if variances.shape == (k,):
            variances = variances[:, None].expand(k, d).clone()
        if variances.shape != (k, d) or (variances <= 0).any():
            raise ValueError(f"variances must be positive with shape ({k},) or ({k}, {d})")
        self.weights = weights / weights.sum()
        self.means = means
        self.variances = variances
        self.schedule = schedule or Schedule.linear()
        self.shape = (d,)
        # Fast path: every component isotropic -> the denoiser is two small matmuls.
        self._isotropic = bool((variances == variances[:, :1]).all())
        # The means often span few directions (rank 2 for the grid preset): x @ mu^T and w @ mu go
        # through an exact thin factorisation mu = C V^T, which makes d = 800 cheap.
        u, sv, vh = torch.linalg.svd(means, full_matrices=False)
        rank = max(1, int((sv > 1e-12 * sv.max().clamp_min(1e-300)).sum()))
        self._coef = u[:, :rank] * sv[:rank]  # (K, r)
        self._basis = vh[:rank].T.contiguous()  # (d, r)
        self._mean_sq = (means * means).sum(1)

    @property
    def dim(self) -> int:
        return self.shape[0]

    @property
    def num_components(self) -> int:
        return self.weights.numel()

    def denoise(self, x_t: torch.Tensor, t: Time) -> torch.Tensor:
        """Exact E[x_0 | x_t] for x_t of shape (B, d)."""
        if x_t.ndim != 2 or x_t.shape[1] != self.dim:
            raise ValueError(f"expected x_t of shape (B, {self.dim}), got {tuple(x_t.shape)}")
        if self._isotropic:
            return self._denoise_isotropic(x_t, t)
        out_dtype = x_t.dtype
        x_t = x_t.double()
        a = expand_time(self.schedule.abar(t), x_t)
        mu, logw = self.means, self.weights.log()
        v = self.variances  # (K, d)
        a3 = a.unsqueeze(-1) if a.ndim else a
        c = a3 * v + (1 - a3)  # (K, d) or (B, K, d)
        diff = x_t[:, None, :] - a3.sqrt() * mu  # (B, K, d)
        logits = logw - 0.5 * (diff * diff / c).sum(-1) - 0.5 * torch.log(c).sum(-1)
        post = torch.softmax(logits, dim=1)
        cond = mu + a3.sqrt() * v / c * diff
        return (post.unsqueeze(-1) * cond).sum(1).to(out_dtype)

    def _denoise_isotropic(self, x_t: torch.Tensor, t: Time) -> torch.Tensor:
        # Only the (B, K) logits are formed in float64 (they are differences of large squared norms);
        # the (B, d) work stays in x_t's dtype, which is what makes d = 800 with 2000 samples cheap.
        a = expand_time(self.schedule.abar(t), x_t).double()  # () or (B, 1)
        v = self.variances[:, 0]  # (K,)
        c = a * v + (1 - a)  # (K,) or (B, K)
        # (B, d) products in x_t's dtype, reductions accumulated in float64.
        x_mu = (x_t @ self._basis.to(x_t.dtype)).double() @ self._coef.T  # (B, K) = x @ mu^T
        x_sq = (x_t * x_t).sum(1, keepdim=True, dtype=torch.float64)
        sq = x_sq - 2 * a.sqrt() * x_mu + a * self._mean_sq
        logits = self.weights.log() - 0.5 * sq / c - 0.5 * self.dim * torch.log(c)
        post = torch.softmax(logits, dim=1)  # (B, K)
        gain = a.sqrt() * v / c  # E_k = mu_k + gain_k (x_t - sqrt(a) mu_k)
        scale = (post * gain).sum(1, keepdim=True).to(x_t.dtype)
        # (B, r) coefficients in float64, then one (B, r) x (r, d) product in x_t's dtype.
        offset = ((post * (1 - a.sqrt() * gain)) @ self._coef).to(x_t.dtype) @ self._basis.T.to(x_t.dtype)
        return scale * x_t + offset

    def sample(self, n: int, generator: torch.Generator, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """n exact prior samples."""
        comp = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        z = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)
        return (self.means[comp] + self.variances[comp].sqrt() * z).to(dtype)

    def responsibilities(self, x: torch.Tensor) -> torch.Tensor:
        """p(k | x) for x (B, d), (B, K) float64. Also the posterior responsibility p(k | x, y): y depends
        on k only through x, so averaged over exact posterior samples it is the posterior weight of k."""
        x = x.double().reshape(-1, self.dim)
        # one component at a time: (B, K, d) would not fit at d = 800 with thousands of samples
        log_lik = torch.stack(
            [-0.5 * ((x - m) ** 2 / v + torch.log(v)).sum(1) for m, v in zip(self.means, self.variances, strict=True)],
            dim=1,
        )
        return torch.softmax(self.weights.log() + log_lik, dim=1)

    def posterior(self, y: torch.Tensor, operator: LinearOperator, sigma: float) -> MixturePosterior:
        """Exact posterior p(x | y) for y = A x + sigma n with a shared linear operator A."""
        return MixturePosterior.from_prior(self, y, operator, sigma)


@dataclass(frozen=True)
class MixturePosterior:
    """Posterior of a Gaussian mixture under a linear Gaussian observation, all float64.

    Component k's posterior is Gaussian; its weight is w_k N(y; A mu_k, sigma^2 I + A Sigma_k A^T),
    normalised in log space. Sampling uses Matheron's rule (prior draw + Kalman correction), which
    is exact and never forms a d x d matrix.
    """

    log_weights: torch.Tensor  # (K,) normalised
    means: torch.Tensor  # (K, d) prior means
    variances: torch.Tensor  # (K, d) prior diagonal covariances
    matrix: torch.Tensor  # (d_y, d)
    y: torch.Tensor  # (d_y,)
    sigma: float
    gains: torch.Tensor  # (K, d, d_y) Sigma_k A^T S_k^{-1}

    @classmethod
    def from_prior(cls, prior: GaussianMixturePrior, y: torch.Tensor, operator: LinearOperator, sigma: float):
        a = operator.as_matrix()  # (d_y, d) float64
        y = torch.as_tensor(y, dtype=torch.float64).reshape(-1)
        if y.numel() != a.shape[0]:
            raise ValueError(f"y has {y.numel()} entries, operator produces {a.shape[0]}")
        dy = a.shape[0]
        s = torch.einsum("od,kd,pd->kop", a, prior.variances, a) + sigma**2 * torch.eye(dy, dtype=torch.float64)
        chol = torch.linalg.cholesky(s)  # (K, d_y, d_y)
        resid = y - prior.means @ a.T  # (K, d_y)
        white = torch.linalg.solve_triangular(chol, resid.unsqueeze(-1), upper=False).squeeze(-1)
        logdet = 2 * torch.log(torch.diagonal(chol, dim1=-2, dim2=-1)).sum(-1)
        log_marg = -0.5 * (white * white).sum(-1) - 0.5 * logdet - 0.5 * dy * math.log(2 * math.pi)
        logw = prior.weights.log() + log_marg
        logw = logw - torch.logsumexp(logw, 0)
        sat = prior.variances.unsqueeze(-1) * a.T  # (K, d, d_y) = Sigma_k A^T
        gains = torch.linalg.solve(s, sat.transpose(1, 2)).transpose(1, 2)  # Sigma_k A^T S_k^{-1}
        return cls(logw, prior.means, prior.variances, a, y, float(sigma), gains)

    @property
    def weights(self) -> torch.Tensor:
        return self.log_weights.exp()

    def component_means(self) -> torch.Tensor:
        """Posterior mean of each component, (K, d)."""
        return self.means + torch.einsum("kdo,ko->kd", self.gains, self.y - self.means @ self.matrix.T)

    def mean(self) -> torch.Tensor:
        return self.weights @ self.component_means()

    def sample(self, n: int, generator: torch.Generator, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        comp = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        d, dy = self.means.shape[1], self.matrix.shape[0]
        x = self.means[comp] + self.variances[comp].sqrt() * torch.randn(n, d, generator=generator, dtype=torch.float64)
        y_sim = x @ self.matrix.T + self.sigma * torch.randn(n, dy, generator=generator, dtype=torch.float64)
        x = x + torch.einsum("ndo,no->nd", self.gains[comp], self.y - y_sim)
        return x.to(dtype)


def grid_mixture(
    dim: int, weights: torch.Tensor | None = None, generator: torch.Generator | None = None, spacing: float = 8.0
) -> GaussianMixturePrior:
    """The standard 25-component benchmark prior (docs/METHOD.md section 7).

    Means spacing * (i, j, i, j, ...) for i, j in {-2, ..., 2}, identity covariances; weights given,
    or drawn uniformly on (0, 1) and normalised from `generator` (a fresh problem per seed).
    """
    if dim < 1:
        raise ValueError(f"dim must be >= 1, got {dim}")
    pairs = [(i, j) for i in range(-2, 3) for j in range(-2, 3)]
    means = torch.tensor(
        [[spacing * (i if c % 2 == 0 else j) for c in range(dim)] for i, j in pairs], dtype=torch.float64
    )
    if weights is None:
        if generator is None:
            raise ValueError("grid_mixture needs weights or a generator to draw them")
        weights = torch.rand(len(pairs), generator=generator, dtype=torch.float64)
    return GaussianMixturePrior(weights, means, torch.ones(len(pairs), dtype=torch.float64))
