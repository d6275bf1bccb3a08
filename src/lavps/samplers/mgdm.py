"""MGDM: the zero-shot variational Gibbs sampler with a Gauss-VI inner solver.

Janati, Moufad, El Mehdi Abdi, Durmus, Moulines, Olsson, "A Mixture-Based Framework for Guiding
Diffusion Models" (ICML 2025), arXiv:2502.03332. docs/METHOD.md section 4.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..diffusion import bridge_sample, ddim_step, grid_with_final_tau, restart_sample, uniform_grid
from ..objective import BridgePrior, bridge_prior, likelihood_precision, linearised_noise
from .base import Context, Sampler
from .configs import MGDMConfig
from .gauss_vi import draw_from, fit_gauss_vi
from .settings import VIConfig, VISettings

__all__ = ["MGDM", "MGDMConfig", "check_final_tau"]


def check_final_tau(config: VIConfig, schedule) -> None:
    """Refuse a final_tau that would change nothing: at or above the uniform grid's first point T_1."""
    if config.final_tau is None:
        return
    first = int(uniform_grid(config.steps, schedule.num_steps)[1])
    if config.final_tau >= first:
        config.refuse("final_tau", f"below the grid's first point T_1 = {first} (N = {config.steps}) or None")


@dataclass
class _State:
    x_next: torch.Tensor  # current x at time t_next
    x0: torch.Tensor  # current clean estimate


class MGDM(Sampler):
    """Iterates over grid triples (t_next > t > tau) from high to low noise:
    noise x_t ~ q_{t|0,t_next}; fit q(x_tau) ~ N(mu, diag e^{2 rho}) to the negative ELBO;
    x0 = D(x_tau, tau); re-noise x_t ~ q_{t|tau,t_next}; repeat n_reps times.
    """

    name = "mgdm"

    def __init__(self, prior, settings: VISettings | None = None, dtype=torch.float32):
        super().__init__(prior, dtype)
        self.settings = settings or VISettings()
        uniform = uniform_grid(self.settings.steps, self.schedule.num_steps)
        self.grid = grid_with_final_tau(uniform, self.settings.final_tau)
        # the iterations the window counts back from: the uniform grid's (a final_tau one is extra)
        self.window_span = len(uniform) - 3

    @classmethod
    def from_config(cls, prior, config: MGDMConfig, **_) -> MGDM:
        check_final_tau(config, prior.schedule)
        return cls(prior, config.vi_settings(config.adam_in))

    @property
    def num_iterations(self) -> int:
        return len(self.grid) - 3

    def plan(self):
        g = self.grid.tolist()
        return [(g[i + 1], g[i], g[i - 1]) for i in range(len(g) - 2, 1, -1)]

    def init(self, ctx: Context) -> _State:
        x = ctx.randn()
        with torch.no_grad():
            x0 = ctx.denoise(x, int(self.grid[-1]))
        return _State(x_next=x, x0=x0)

    def step(self, state: _State, step, index: int, ctx: Context) -> _State:
        t_next, t, tau_grid = step
        x_next, x0 = state.x_next, state.x0
        x_t = self.renoise(x0, x_next, t, t_next, ctx)
        tau = self.choose_tau(index, t, tau_grid, ctx)
        for _ in range(self.settings.n_reps):
            with torch.no_grad():
                bridge = bridge_prior(self.schedule, x0, x_t, tau, t)
            x_tau, x0 = self.inner_draw(ctx, bridge, x_t, x0, tau, t, index)
            x_t = bridge_sample(self.schedule, x_tau, x_next, tau, t, t_next, 1.0, ctx.randn())
        return _State(x_next=x_t, x0=x0)

    def renoise(self, x0, x_next, t: int, t_next: int, ctx: Context) -> torch.Tensor:
        """The iteration's x_t: the bridge q(x_t | x0, x_next), or DiffPIR's re-noising (restart_zeta)."""
        zeta = self.settings.restart_zeta
        if zeta is None:
            return bridge_sample(self.schedule, x0, x_next, 0, t, t_next, 1.0, ctx.randn())
        return restart_sample(self.schedule, x0, x_next, t_next, t, zeta, ctx.randn())

    # -- pieces a subclass (LAVPS) may replace ----------------------------------------------
    def inner_draw(self, ctx: Context, bridge: BridgePrior, x_t, x0, tau, t, index: int):
        """Solve the inner problem, draw x_tau ~ q and denoise it: returns (x_tau, new x0)."""
        mu, rho = self.variational_step(ctx, bridge, x_t, x0, tau, t, index)
        x_tau = self.draw_x_tau(ctx, bridge, mu, rho, tau)
        with torch.no_grad():
            return x_tau, self.denoise_from(x_tau, tau, ctx)

    def draw_x_tau(self, ctx: Context, bridge: BridgePrior, mu: torch.Tensor, rho: torch.Tensor, tau) -> torch.Tensor:
        """x_tau around the inner Gaussian's mean: mu + e^rho z (draw "diagonal"), or, on a linear-Gaussian
        problem with draw "linearised", mu + s e with e of the linearised problem's full covariance
        (`linearised_noise`; s the bridge's std at the settings' temperature, rho unused)."""
        z = ctx.randn()
        problem = ctx.problem
        if self.settings.draw != "linearised" or problem is None or not problem.is_linear_gaussian:
            return draw_from(mu, rho, z)
        z_y = ctx.noise.randn((ctx.batch_size, *problem.operator.out_shape), mu.dtype, mu.device)
        with torch.no_grad():
            e = linearised_noise(bridge, self.schedule.abar(tau), problem, z, z_y)
        scale = self.settings.tempered(bridge.log_std.to(mu.dtype), tau).exp()
        return mu + scale * e

    def variational_step(self, ctx: Context, bridge: BridgePrior, x_t, x0, tau, t, index: int):
        """Zero-shot Gauss-VI: start at (m, log s), then G Adam steps (G, lr from the window schedules).
        Returns the Gaussian to draw x_tau from: its log-std at the settings' temperature."""
        s = self.settings
        mu, rho = bridge.zero_shot_start()
        steps = int(s.adam_steps.at(index, self.window_span))
        lr = s.lr.at(index, self.window_span)
        mu, rho = fit_gauss_vi(ctx, bridge, tau, mu, rho, steps, lr, s.whiten)
        return mu, self.tempered(ctx, rho, tau)

    def tempered(self, ctx: Context, rho: torch.Tensor, tau) -> torch.Tensor:
        """The draw's log-std at the settings' temperature (on the prior's share of the precision only when
        temperature_prior_only is set and the problem is linear-Gaussian: `VISettings.tempered`)."""
        s = self.settings
        lam = None
        if s.temperature_prior_only and ctx.problem is not None:
            lam = likelihood_precision(self.schedule.abar(tau), ctx.problem, rho)
        return s.tempered(rho, tau, lam)

    def choose_tau(self, index: int, t: int, tau_grid: int, ctx: Context):
        rule = self.settings.tau
        if rule.kind == "deterministic" or index >= rule.threshold or rule.min_tau >= t:
            return tau_grid
        u = ctx.noise.rand((ctx.batch_size,))
        return rule.min_tau + torch.floor(u * (t - rule.min_tau)).long()  # per sample, in [min_tau, t)

    def denoise_from(self, x_tau: torch.Tensor, tau, ctx: Context) -> torch.Tensor:
        """x0 = D(x_tau, tau), or a few deterministic DDIM steps from tau to 0."""
        n = self.settings.denoise_steps
        if n == 1:
            return ctx.denoise(x_tau, tau)
        if isinstance(tau, torch.Tensor):
            raise ValueError("denoise_steps > 1 needs the deterministic tau rule (one tau for the batch)")
        times = sorted(set(torch.linspace(0, tau, n + 1).round().long().tolist()), reverse=True)
        x = x_tau
        for t_hi, t_lo in zip(times[:-1], times[1:], strict=True):
            x0 = ctx.denoise(x, t_hi)
            x = ddim_step(self.schedule, x, x0, t_hi, t_lo, 0.0, torch.zeros_like(x))
        return x
