"""Weighted particles for MGDM and LAVPS: sequential Monte Carlo with the explicit likelihood.

In the spirit of the twisted diffusion sampler (Wu, Trippe, Naesseth, Blei, Cunningham, "Practical and
Asymptotically Exact Conditional Sampling in Diffusion Models", NeurIPS 2023, arXiv:2306.17775) and
MCGdiff (Cardoso, Janati, Le Corff, Moulines, "Monte Carlo guided diffusion for Bayesian linear inverse
problems", ICLR 2024, arXiv:2308.07983).

Each output sample owns K particles. A particle's path x_T -> x_{tau_1} -> ... -> x_{tau_n} is weighted
against the reference chain of the prior on the same times (DDPM / DDIM eta = 1 kernels
p(x_tau' | x_tau) = q_{tau'|0,tau}(. | D(x_tau), x_tau), started at N(0, I)), twisted by the Gaussian
g_tau(x) = N(y; A D(x, tau), v_tau I), v_tau = sigma_y^2 + (1 - abar_tau) tr(A^T A) / d_y (the spread
of A x0 given x_tau for a unit-variance prior). The proposal is one MGDM / LAVPS iteration: its draw
x_tau ~ N(mu, e^{2 rho}) with (mu, rho) from the inner solver; everything else it draws on the way
(the intermediate x_t, the guard's choice, Adam's noise) depends only on the particle's past, so
    w <- w p(x_tau' | x_tau) g_tau'(x_tau') / (g_tau(x_tau) N(x_tau'; mu, e^{2 rho}))
is a valid importance weight on the extended space. The last weight swaps the twist for the exact
likelihood of the output D(x_{tau_n}); the output is one particle drawn by weight. As K grows the output
follows the reference chain's posterior exactly (the chain's time discretisation is the only error).
Particles are resampled (systematic) when their effective sample size falls below K / 2.

Per-sample independence: output i's particles use the seeds derive_seed(s_i, k) and its resampling the
seed derive_seed(derive_seed(s_i, 0), RESAMPLE_KEY), s_i = seed + i (or the given per-sample seed),
whatever the batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..diffusion import bridge_coefficients, bridge_sample, expand_time
from ..objective import bridge_prior
from ..operators.noise import InverseProblem
from ..random import derive_seed
from .base import Context, Sampler, SampleResult
from .gauss_vi import draw_from
from .mgdm import MGDM

__all__ = ["Particles", "ParticleState"]

RESAMPLE_KEY = 2**31 - 1


@dataclass
class ParticleState:
    """Rows are output-major (output i's particles are rows i K .. i K + K - 1).

    x_next: MGDM's x at the grid's next time; x0: D(x_prev); x_prev: the particle's point on the reference
    chain at time t_prev; log_g: its log twist; log_w: log weights; generators: one per output (resampling).
    """

    x_next: torch.Tensor
    x0: torch.Tensor
    x_prev: torch.Tensor
    t_prev: int
    log_g: torch.Tensor
    log_w: torch.Tensor
    generators: list[torch.Generator]


class Particles(Sampler):
    """K weighted particles per output around an MGDM or LAVPS sampler (see the module docstring)."""

    def __init__(self, base: MGDM, particles: int):
        if not isinstance(base, MGDM):
            raise TypeError(f"particles wrap an MGDM or LAVPS sampler, got {type(base).__name__}")
        if int(particles) < 1:
            raise ValueError(f"particles must be >= 1, got {particles}")
        s = base.settings
        if s.tau.kind != "deterministic" or s.denoise_steps != 1:
            raise ValueError("particles need the deterministic tau rule and denoise_steps = 1 (one D(x_tau) per step)")
        super().__init__(base.prior, base.dtype)
        self.base, self.count = base, int(particles)
        self.name = f"{base.name}+particles"

    def sample(
        self,
        problem: InverseProblem | None,
        batch_size: int,
        seed: int | Sequence[int] = 0,
        per_sample_noise: bool = False,
        progress: bool = False,
        callback=None,
        noise_on_device: bool = False,
    ) -> SampleResult:
        """As `Sampler.sample`; every output has its own streams (seed + i, or the given list) whatever
        per_sample_noise says. The cost counts denoiser passes per particle path."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if problem is None:
            raise ValueError("particles need an inverse problem (y, operator, noise)")
        seeds = [int(seed) + i for i in range(batch_size)] if isinstance(seed, int) else [int(s) for s in seed]
        if len(seeds) != batch_size:
            raise ValueError(f"got {len(seeds)} seeds for a batch of {batch_size}")
        k = self.count
        if problem.y.shape[0] not in (1, k * batch_size):
            problem = InverseProblem(problem.y.repeat_interleave(k, 0), problem.operator, problem.noise)
        particle_seeds = [derive_seed(s, j) for s in seeds for j in range(k)]
        result = super().sample(problem, batch_size * k, particle_seeds, True, progress, callback, noise_on_device)
        result.info["particles"] = k
        return result

    def plan(self):
        return self.base.plan()

    def init(self, ctx: Context) -> ParticleState:
        # output i's resampling stream comes from its first particle's seed, itself derived from s_i
        firsts = ctx.noise.seeds[:: self.count]
        start = self.base.init(ctx)
        t_top = int(self.base.grid[-1])
        log_g = self._log_twist(ctx, start.x0, t_top)
        return ParticleState(
            x_next=start.x_next,
            x0=start.x0,
            x_prev=start.x_next,
            t_prev=t_top,
            log_g=log_g,
            log_w=log_g.clone(),  # the proposal at T is the reference N(0, I): weight = twist
            generators=[torch.Generator().manual_seed(derive_seed(s, RESAMPLE_KEY)) for s in firsts],
        )

    def step(self, state: ParticleState, step, index: int, ctx: Context) -> ParticleState:
        base = self.base
        t_next, t, tau = step
        x_t = base.renoise(state.x0, state.x_next, t, t_next, ctx)
        x0 = state.x0
        for _ in range(base.settings.n_reps):  # earlier repetitions are auxiliary draws
            with torch.no_grad():
                bridge = bridge_prior(self.schedule, x0, x_t, tau, t)
            mu, rho = base.variational_step(ctx, bridge, x_t, x0, tau, t, index)
            x_tau = draw_from(mu, rho, ctx.randn())
            with torch.no_grad():
                x0 = ctx.denoise(x_tau, tau)
            x_t = bridge_sample(self.schedule, x_tau, state.x_next, tau, t, t_next, 1.0, ctx.randn())
        log_g = self._log_twist(ctx, x0, tau)
        log_ref = self._log_reference(state, x_tau, tau)
        log_q = _log_normal(x_tau, mu, rho)
        log_w = state.log_w + log_ref + log_g - state.log_g - log_q
        new = ParticleState(x_t, x0, x_tau, tau, log_g, log_w, state.generators)
        return self._resample(new, ctx)

    def finish(self, state: ParticleState, ctx: Context) -> torch.Tensor:
        exact = ctx.problem.log_likelihood(state.x0).double()
        log_w = (state.log_w + exact - state.log_g).reshape(-1, self.count)
        picks = []
        for i, g in enumerate(state.generators):
            w = torch.softmax(_finite(log_w[i]), 0)
            picks.append(i * self.count + int(torch.multinomial(w, 1, generator=g)))
        ctx.info.setdefault("particle_ess", []).append(_ess(log_w).mean().item())
        return state.x0[picks]

    # -- pieces ------------------------------------------------------------------------------
    def _log_twist(self, ctx: Context, x0: torch.Tensor, tau: int) -> torch.Tensor:
        """log N(y; A x0, v_tau I), v_tau = sigma_y^2 + (1 - abar_tau) tr(A^T A) / d_y, per row (float64)."""
        problem = ctx.problem
        d_y = problem.y[0].numel()
        gram = float(problem.operator.gram_diagonal().double().sum()) / d_y
        v = problem.sigma**2 + (1.0 - float(self.schedule.abar(tau))) * gram
        r = (problem.y - problem.operator.forward(x0)).flatten(1).double()
        return -(r * r).sum(1) / (2 * v) - 0.5 * d_y * math.log(2 * math.pi * v)

    def _log_reference(self, state: ParticleState, x_tau: torch.Tensor, tau: int) -> torch.Tensor:
        """log p(x_tau | x_prev): the prior chain's DDPM kernel q_{tau|0,t_prev}(. | D(x_prev), x_prev)."""
        coef = bridge_coefficients(self.schedule, 0, tau, state.t_prev, eta=1.0)
        mean = coef.mean(state.x0, state.x_prev)
        std = expand_time(coef.std, x_tau).double()
        return _log_normal(x_tau, mean, torch.log(std).expand_as(x_tau))

    def _resample(self, state: ParticleState, ctx: Context) -> ParticleState:
        """Systematic resampling within each output's K particles whose ESS < K / 2."""
        k = self.count
        log_w = state.log_w.reshape(-1, k)
        rows = torch.arange(log_w.numel(), device=state.log_w.device)
        low = _ess(log_w) < k / 2
        if k == 1 or not bool(low.any()):
            return state
        rows = rows.reshape(-1, k).clone()
        new_w = log_w.clone()
        for i in torch.nonzero(low).flatten().tolist():
            w = torch.softmax(_finite(log_w[i]), 0)
            u = (torch.rand(1, generator=state.generators[i], dtype=torch.float64) + torch.arange(k)) / k
            idx = torch.searchsorted(torch.cumsum(w, 0).cpu(), u).clamp(max=k - 1)
            rows[i] = i * k + idx.to(rows.device)
            new_w[i] = 0.0
        ctx.info["resamplings"] = ctx.info.get("resamplings", 0) + int(low.sum())
        r = rows.flatten()
        return ParticleState(
            state.x_next[r], state.x0[r], state.x_prev[r], state.t_prev, state.log_g[r], new_w.flatten(),
            state.generators,
        )  # fmt: skip

    def _cost(self, ctx: Context):
        return self.base._cost(ctx)


def _log_normal(x: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """log N(x; mean, diag(e^{2 log_std})) per row, float64."""
    x, mean, log_std = x.double(), mean.double(), log_std.double().expand_as(x)
    z = (x - mean) / log_std.exp()
    dims = tuple(range(1, x.ndim))
    return (-0.5 * z * z - log_std - 0.5 * math.log(2 * math.pi)).sum(dims)


def _finite(log_w: torch.Tensor) -> torch.Tensor:
    """Non-finite log weights (a diverged particle) count as -inf; all of them non-finite: uniform."""
    out = torch.where(torch.isfinite(log_w), log_w, torch.full_like(log_w, -math.inf))
    return out if bool(torch.isfinite(out).any()) else torch.zeros_like(out)


def _ess(log_w: torch.Tensor) -> torch.Tensor:
    """Effective sample size per row of a (B, K) matrix of log weights."""
    w = torch.stack([torch.softmax(_finite(row), 0) for row in log_w])
    return 1.0 / (w * w).sum(1)
