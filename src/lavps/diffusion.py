"""Diffusion core: DDPM schedule, sampling grids, forward marginal and bridge kernel.

Pure tensor math (docs/METHOD.md section 2). Index 0 means "clean" (abar_0 = 1 is prepended), the
DDPM steps are 1..K. Ratios of abar are formed in float64 and cast to the signal's dtype last.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

__all__ = [
    "Schedule",
    "BridgeCoefficients",
    "uniform_grid",
    "sigma_grid",
    "GRID_KINDS",
    "baseline_grid",
    "grid_with_final_tau",
    "bridge_coefficients",
    "bridge_sample",
    "forward_sample",
    "restart_sample",
    "ddim_step",
    "expand_time",
]

Time = int | torch.Tensor


@dataclass(frozen=True)
class Schedule:
    """Variance-preserving discrete DDPM schedule (linear betas by default, or any betas).

    Attributes:
        alphas_cumprod: float64 tensor of shape (K + 1,), alphas_cumprod[0] = 1.
    """

    alphas_cumprod: torch.Tensor

    @classmethod
    def linear(cls, num_steps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> Schedule:
        if num_steps < 2:
            raise ValueError(f"num_steps must be >= 2, got {num_steps}")
        return cls.from_betas(torch.linspace(beta_start, beta_end, num_steps, dtype=torch.float64))

    @classmethod
    def from_betas(cls, betas: torch.Tensor) -> Schedule:
        """abar_k = prod_{j<=k} (1 - beta_j) for betas of shape (K,) in (0, 1), abar_0 = 1 prepended."""
        betas = torch.as_tensor(betas, dtype=torch.float64).reshape(-1)
        if betas.numel() < 2 or not bool(((betas > 0) & (betas < 1)).all()):
            raise ValueError(f"betas must be at least 2 numbers in (0, 1), got {betas.numel()} values")
        abar = torch.cumprod(1.0 - betas, dim=0)
        return cls(torch.cat([torch.ones(1, dtype=torch.float64), abar]))

    @classmethod
    def from_diffusers(cls, config: dict) -> Schedule:
        """The schedule of a diffusers `scheduler_config.json` (DDPM/DDIM-style keys).

        beta_schedule linear: linspace(beta_start, beta_end, K); scaled_linear: linspace of the square
        roots, squared; squaredcos_cap_v2: beta_k = min(1 - f(k / K) / f((k - 1) / K), 0.999) with
        f(s) = cos((s + 0.008) / 1.008 * pi / 2)^2; or explicit `trained_betas`. Diffusers' timestep j
        is our index j + 1. Anything else (other schedules, zero-terminal-SNR rescaling) is refused.
        """
        if config.get("rescale_betas_zero_snr"):
            raise ValueError("rescale_betas_zero_snr=true gives abar_K = 0, which lavps cannot use (sigma_K = inf)")
        k = int(config.get("num_train_timesteps", 1000))
        if config.get("trained_betas") is not None:
            return cls.from_betas(torch.tensor(config["trained_betas"], dtype=torch.float64))
        kind = config.get("beta_schedule", "linear")
        b0, b1 = float(config.get("beta_start", 1e-4)), float(config.get("beta_end", 0.02))
        if kind == "linear":
            return cls.linear(k, b0, b1)
        if kind == "scaled_linear":
            return cls.from_betas(torch.linspace(b0**0.5, b1**0.5, k, dtype=torch.float64) ** 2)
        if kind == "squaredcos_cap_v2":
            f = [math.cos((i / k + 0.008) / 1.008 * math.pi / 2) ** 2 for i in range(k + 1)]
            return cls.from_betas(torch.tensor([min(1 - f[i + 1] / f[i], 0.999) for i in range(k)]))
        raise ValueError(f"unsupported beta_schedule {kind!r}; lavps maps linear, scaled_linear and squaredcos_cap_v2")

    @property
    def num_steps(self) -> int:
        """K, the number of noising steps (indices 1..K)."""
        return self.alphas_cumprod.numel() - 1

    def abar(self, t: Time) -> torch.Tensor:
        """abar_t in float64 for an int or a LongTensor of indices."""
        idx = torch.as_tensor(t, dtype=torch.long).cpu()  # the schedule lives on the CPU (float64)
        if (idx < 0).any() or (idx > self.num_steps).any():
            raise ValueError(f"time index out of range [0, {self.num_steps}]: {t}")
        return self.alphas_cumprod[idx]

    def sigma(self, t: Time) -> torch.Tensor:
        """Noise-to-signal ratio sqrt((1 - abar_t) / abar_t) (float64), the time code of LAVPS."""
        a = self.abar(t)
        return torch.sqrt((1.0 - a) / a)


def expand_time(value: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Cast a per-time float64 scalar or (B,) vector to like's dtype and device, broadcastable against like."""
    value = value.to(dtype=like.dtype).to(like.device)  # cast first: float64 never reaches MPS
    if value.ndim == 0:
        return value
    return value.reshape(value.shape[0], *([1] * (like.ndim - 1)))


def uniform_grid(num_points: int, num_steps: int = 1000) -> torch.Tensor:
    """Sampling grid T_0 = 0 < ... < T_{N-1} = K - 1, floor(linspace(0, K - 1, N)).

    Returns a LongTensor of shape (N,). Raises if the points would not be strictly increasing.
    """
    if num_points < 3:
        raise ValueError(f"a sampling grid needs at least 3 points, got {num_points}")
    if num_points > num_steps:
        raise ValueError(f"grid of {num_points} points does not fit {num_steps} diffusion steps")
    grid = torch.floor(torch.linspace(0, num_steps - 1, num_points, dtype=torch.float64)).long()
    if not bool((grid[1:] > grid[:-1]).all()):
        raise ValueError(f"grid of {num_points} points over {num_steps} steps is not strictly increasing")
    return grid


def sigma_grid(num_points: int, schedule: Schedule, rho: float = 1.0) -> torch.Tensor:
    """Grid T_0 = 0 < T_1 < ... < T_{N-1} = K - 1 spaced in sigma_t = sqrt((1 - abar_t) / abar_t) (the VE
    noise level of x_t / sqrt(abar_t)): sigma_{T_i}^(1/rho) evenly spaced from sigma_1 to sigma_{K-1}
    (i = 1..N-1), each T_i the step whose sigma is nearest its target.

    rho = 1: evenly spaced in sigma itself; most points then sit at high noise (N = 21 on the linear
    schedule: T_1 = 637, T_2 = 737, ...) and the last step jumps to the data from there. rho = 7: the
    spacing of Karras et al. 2022 (EDM), dense near the data; rho = math.inf: evenly spaced in log sigma
    (N = 21: T = 0, 1, 2, 5, 11, 20, 36, 62, 103, ..., 947, 999), the grid DDRM-20 prefers (docs/baselines.md).
    Where neighbours would round to the same step, points are pushed apart (one step at least) so the
    grid stays strictly increasing.
    """
    if num_points < 3:
        raise ValueError(f"a sampling grid needs at least 3 points, got {num_points}")
    if not rho > 0:
        raise ValueError(f"rho must be > 0 (math.inf: evenly spaced in log sigma), got {rho}")
    k = schedule.num_steps
    if num_points > k:
        raise ValueError(f"grid of {num_points} points does not fit {k} diffusion steps")
    sigmas = schedule.sigma(torch.arange(k))
    if math.isinf(rho):  # the limit rho -> inf: evenly spaced in log sigma
        lo, hi = math.log(float(sigmas[1])), math.log(float(sigmas[-1]))
        targets = torch.linspace(lo, hi, num_points - 1, dtype=torch.float64).exp()
    else:
        lo, hi = float(sigmas[1]) ** (1 / rho), float(sigmas[-1]) ** (1 / rho)
        targets = torch.linspace(lo, hi, num_points - 1, dtype=torch.float64) ** rho
    grid = torch.cat([torch.zeros(1, dtype=torch.long), (sigmas[None, :] - targets[:, None]).abs().argmin(dim=1)])
    grid[-1] = k - 1
    for i in range(num_points - 2, 0, -1):  # from the top: every point at least one step below the next
        grid[i] = min(int(grid[i]), int(grid[i + 1]) - 1)
    for i in range(1, num_points):
        grid[i] = max(int(grid[i]), int(grid[i - 1]) + 1)
    return grid.long()


#: the grids DDRM and DiffPIR accept: uniform in t, or evenly spaced in log sigma_t (sigma_grid, rho = inf)
GRID_KINDS = ("uniform_t", "log_sigma")


def baseline_grid(kind: str, num_points: int, schedule: Schedule) -> torch.Tensor:
    """The grid of `num_points` points of kind "uniform_t" (uniform_grid) or "log_sigma" (sigma_grid, rho = inf)."""
    if kind == "uniform_t":
        return uniform_grid(num_points, schedule.num_steps)
    if kind == "log_sigma":
        return sigma_grid(num_points, schedule, math.inf)
    raise ValueError(f"unknown grid {kind!r}; allowed: {', '.join(GRID_KINDS)}")


def grid_with_final_tau(grid: torch.Tensor, final_tau: int | None) -> torch.Tensor:
    """`grid`, ending at or below final_tau: if its first point T_1 is above final_tau, final_tau is
    inserted between T_0 = 0 and T_1; otherwise (or with None) `grid` is returned unchanged.

    A short uniform grid ends far from the data (N = 20 over 1000 steps: T_1 = 52); the last clean
    estimate D(x_{T_1}, T_1) then keeps visible noise. One more point near 0 costs one denoiser call.
    """
    if final_tau is None or int(grid[1]) <= int(final_tau):
        return grid
    if int(final_tau) < 1:
        raise ValueError(f"final_tau must be >= 1, got {final_tau}")
    return torch.cat([grid[:1], torch.tensor([int(final_tau)], dtype=grid.dtype), grid[1:]])


def forward_sample(schedule: Schedule, x0: torch.Tensor, t: Time, eps: torch.Tensor) -> torch.Tensor:
    """x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, for a given standard normal eps."""
    a = schedule.abar(t)
    return expand_time(a.sqrt(), x0) * x0 + expand_time((1.0 - a).sqrt(), x0) * eps


def restart_sample(
    schedule: Schedule,
    x0: torch.Tensor,
    x_l: torch.Tensor,
    l: Time,  # noqa: E741
    t: Time,
    zeta: float,
    noise: torch.Tensor,
) -> torch.Tensor:
    """Re-noise a clean estimate to time t, keeping a share 1 - zeta of x_l's own noise (DiffPIR's step).

    eps_hat = (x_l - sqrt(abar_l) x0) / sqrt(1 - abar_l) is the noise that takes x0 to x_l; then
    x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) (sqrt(1 - zeta) eps_hat + sqrt(zeta) noise).
    zeta = 1 is a fresh draw from q(x_t | x0) (a restart that forgets x_l), zeta = 0 the deterministic
    DDIM step. Any of l, t may be a (B,) LongTensor.
    """
    if not 0.0 <= zeta <= 1.0:
        raise ValueError(f"zeta must be in [0, 1], got {zeta}")
    a_l = schedule.abar(l)
    eps_hat = (x_l - expand_time(a_l.sqrt(), x_l) * x0) / expand_time((1.0 - a_l).sqrt(), x_l)
    mixed = math.sqrt(1.0 - zeta) * eps_hat + math.sqrt(zeta) * noise
    return forward_sample(schedule, x0, t, mixed)


@dataclass(frozen=True)
class BridgeCoefficients:
    """q_{t|s,l}(x_t | x_s, x_l) = N(c_l x_l + c_s x_s, std^2 I), all float64."""

    c_s: torch.Tensor
    c_l: torch.Tensor
    std: torch.Tensor

    def mean(self, x_s: torch.Tensor, x_l: torch.Tensor) -> torch.Tensor:
        return expand_time(self.c_l, x_l) * x_l + expand_time(self.c_s, x_s) * x_s


def bridge_coefficients(schedule: Schedule, s: Time, t: Time, l: Time, eta: float = 1.0) -> BridgeCoefficients:  # noqa: E741
    """Coefficients of the bridge kernel q_{t|s,l} for s < t < l (docs/METHOD.md section 2).

    With eta = 1 this is the exact forward-process bridge; s = 0 gives the DDPM posterior.
    Any of s, t, l may be a (B,) LongTensor (per-sample times).
    """
    if not 0.0 <= eta <= 1.0:
        raise ValueError(f"eta must be in [0, 1], got {eta}")
    s_, t_, l_ = (torch.as_tensor(v, dtype=torch.long) for v in (s, t, l))
    if not (bool((s_ < t_).all()) and bool((t_ < l_).all())):
        raise ValueError(f"bridge needs s < t < l, got s={s}, t={t}, l={l}")
    ab_s, ab_t, ab_l = schedule.abar(s_), schedule.abar(t_), schedule.abar(l_)
    a_ts, a_lt, a_ls = ab_t / ab_s, ab_l / ab_t, ab_l / ab_s
    std = eta * torch.sqrt((1.0 - a_lt) * (1.0 - a_ts) / (1.0 - a_ls))
    c_l = torch.sqrt(torch.clamp(1.0 - a_ts - std**2, min=0.0) / (1.0 - a_ls))
    c_s = torch.sqrt(a_ts) - c_l * torch.sqrt(a_ls)
    return BridgeCoefficients(c_s=c_s, c_l=c_l, std=std)


def bridge_sample(
    schedule: Schedule,
    x_s: torch.Tensor,
    x_l: torch.Tensor,
    s: Time,
    t: Time,
    l: Time,  # noqa: E741
    eta: float,
    noise: torch.Tensor,
) -> torch.Tensor:
    """Draw x_t ~ q_{t|s,l}(. | x_s, x_l) from a given standard normal tensor."""
    coef = bridge_coefficients(schedule, s, t, l, eta)
    return coef.mean(x_s, x_l) + expand_time(coef.std, x_l) * noise


def ddim_step(
    schedule: Schedule,
    x_l: torch.Tensor,
    x0_hat: torch.Tensor,
    l: Time,  # noqa: E741
    t: Time,
    eta: float,
    noise: torch.Tensor,
) -> torch.Tensor:
    """DDIM step from time l down to t < l: a draw from q_{t|0,l}(. | x0_hat, x_l).

    t = 0 returns x0_hat itself (the bridge degenerates to the clean estimate).
    """
    if isinstance(t, int) and t == 0:
        return x0_hat
    return bridge_sample(schedule, x0_hat, x_l, 0, t, l, eta, noise)
