"""LAVPS: MGDM whose inner problem, inside the final window, starts from an amortized guess.

Zheng, Hirtz, Janati, Moulines, "Fast and Robust Likelihood-Guided Diffusion Posterior Sampling with
Amortized Variational Inference", arXiv:2602.07102. docs/METHOD.md section 5.

Inside the window: candidate starts (mu, rho) for the inner problem -- the network's
(m + dmu, log s + drho), the zero-shot start (m, log s) and, optionally, the Gaussian-linearised
solution (`lavps.objective.linearised_start`, no denoiser call) -- are scored by L_hat on the SAME z;
the smallest wins PER SAMPLE (the best-of guard); then G_in Adam steps. Outside the window: plain MGDM.
guard=False with G_in = 0 is the "amortized only" baseline. With G_in = 0 and `reuse_draw`, the
winner's scored sample x = mu + e^rho z becomes x_tau and its D(x) the new clean estimate: the guard's
forward passes then also pay for the denoising step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch

from ..amortize.network import check_compatible, time_code
from ..device import prior_device
from ..finite import check_finite
from ..objective import BridgePrior, linearised_log_std, linearised_start, negative_elbo
from ..operators.noise import InverseProblem
from ..random import NoiseSource
from .base import Context
from .gauss_vi import fit_gauss_vi
from .lavps_config import CANDIDATES, AmortizedOnlyConfig, GuardSettings, LAVPSConfig
from .mgdm import MGDM, check_final_tau
from .settings import VISettings

__all__ = ["LAVPS", "LAVPSConfig", "AmortizedOnlyConfig", "GuardSettings", "CANDIDATES"]

WIN_KEY = "amortizer_win_fraction"
WINS_KEY = "guard_wins"
#: the smallest Gaussian sigma_y LAVPS takes (sr:2, one digit: 28 dB at 1e-6, 19 dB at 1e-7, 8 dB at 1e-8)
MIN_SIGMA = 1e-6


class _Replay(NoiseSource):
    """A noise source that first hands out given tensors, then draws from `base`.

    With the guard on and G_in >= 1, the guard's z is also the first Adam step's z: the noise stream
    then matches MGDM's draw for draw, so an untrained (zero-output) amortizer reproduces MGDM exactly.
    """

    def __init__(self, base: NoiseSource, pending: Sequence[torch.Tensor]):
        self.base, self.batch_size, self.pending = base, base.batch_size, list(pending)

    def randn(self, shape, dtype=torch.float32, device="cpu"):
        if self.pending and tuple(self.pending[0].shape) == tuple(shape) and self.pending[0].dtype == dtype:
            return self.pending.pop(0).to(device)
        return self.base.randn(shape, dtype, device)

    def rand(self, shape, dtype=torch.float64):
        return self.base.rand(shape, dtype)


class _Recorder:
    """Wraps a denoiser and keeps its last output (the guard reuses D(x) of the winning sample)."""

    def __init__(self, denoise):
        self.denoise, self.last = denoise, None

    def __call__(self, x, t):
        self.last = self.denoise(x, t)
        return self.last


class LAVPS(MGDM):
    """MGDM + the amortizer inside the window (settings.adam_steps.window), with a per-sample guard.

    Args:
        prior: the diffusion prior (must match the amortizer's shape and prior fingerprint).
        amortizer: a trained `lavps.amortize.Amortizer` (untrained = zero-shot start).
        settings: MGDM settings; outside the window they apply unchanged, inside it `inner_steps`
            replaces adam_steps.inside (lr.inside still applies).
        guard: a bool (on/off with the default candidates) or GuardSettings.
        inner_steps: G_in, Adam steps after the (guarded) start.
        linear_variance: add the Gaussian-linearised mean-field shrink -log(1 + c diag(A^T A)) / 2
            (`lavps.objective.linearised_log_std`) to the network's log-std. The amortized-VI network
            barely shrinks its variance where the likelihood pins the signal down (measured: drho ~ 0
            at low noise); the shrink is the likelihood's own, exact for the linearised problem.
        linear_below: at tau < linear_below the linearised solution stands in for the network's proposal
            (no amortizer forward): near the data the linearisation is accurate (0 = never).
        fallback_steps: adaptive budget. None: every sample takes `inner_steps` Adam steps. An int: the
            samples whose guard rejected the network's proposal take this many instead (robustness where
            the network is out of its depth), the others `inner_steps` (speed).
        inner_tol: > 0 stops a sample's Adam steps once its inner loss falls by less than this relative
            amount in a step (`fit_gauss_vi`); sample i still never depends on its batch-mates.
        nonlinear_inner_steps: G_in on a problem that is not linear-Gaussian (non-linear A or non-Gaussian
            noise; None: `inner_steps` there too). The guard's linearised candidate, the stand-in below
            linear_below, the variance shrink and the network's likelihood input all see the likelihood
            through its Gauss-Newton model, exact only for linear-Gaussian problems; where it is blind
            (hdr's clip: zero Jacobian on saturated pixels) only Adam steps on the exact likelihood pull.
        inner_taus: (LOW, HIGH): the Adam steps after the guard are taken only at window iterations with
            LOW <= tau < HIGH (elsewhere the guarded start is kept as it is). One step after the network paid at
            tau >= 420 on box inpainting and below it on motion blur (results/calibration/decomposition).
    """

    name = "lavps"

    def __init__(
        self,
        prior,
        amortizer,
        settings: VISettings | None = None,
        guard: bool | GuardSettings = True,
        inner_steps: int = 3,
        linear_variance: bool = False,
        linear_below: int = 0,
        fallback_steps: int | None = None,
        inner_tol: float = 0.0,
        nonlinear_inner_steps: int | None = None,
        inner_taus: tuple[int, int] = (0, 1000),
        dtype=torch.float32,
    ):
        super().__init__(prior, settings, dtype)
        self.linear_variance = bool(linear_variance)
        if int(linear_below) < 0:
            raise ValueError(f"linear_below must be >= 0, got {linear_below}")
        self.linear_below = int(linear_below)
        if int(inner_steps) < 0:
            raise ValueError(f"inner_steps (G_in) must be >= 0, got {inner_steps}")
        if not hasattr(amortizer, "candidate") or not hasattr(amortizer, "config"):
            raise TypeError(f"amortizer must be a lavps.amortize.Amortizer, got {type(amortizer).__name__}")
        check_compatible(amortizer, prior, source="the amortizer")
        self.amortizer = amortizer.to(prior_device(prior))  # float32 wherever the prior's network runs
        self.guard = guard if isinstance(guard, GuardSettings) else GuardSettings(enabled=bool(guard))
        self.inner_steps = int(inner_steps)
        if fallback_steps is not None and int(fallback_steps) < 0:
            raise ValueError(f"fallback_steps must be >= 0 (or None), got {fallback_steps}")
        if not inner_tol >= 0:
            raise ValueError(f"inner_tol must be >= 0, got {inner_tol}")
        self.fallback_steps = None if fallback_steps is None else int(fallback_steps)
        if self.fallback_steps is not None and not self.guard.enabled:
            raise ValueError("fallback_steps needs the guard (it decides which samples fall back)")
        self.inner_tol = float(inner_tol)
        if nonlinear_inner_steps is not None and int(nonlinear_inner_steps) < 0:
            raise ValueError(f"nonlinear_inner_steps must be >= 0 (or None), got {nonlinear_inner_steps}")
        self.nonlinear_inner_steps = None if nonlinear_inner_steps is None else int(nonlinear_inner_steps)
        low, high = (int(v) for v in inner_taus)
        if not 0 <= low < high:
            raise ValueError(f"inner_taus must be LOW < HIGH, both >= 0, got {tuple(inner_taus)}")
        self.inner_taus = (low, high)
        if not self.guard.enabled and self.inner_steps == 0:
            self.name = "amortized-only"
            self.label = "lavps (amortizer only, no guard)"

    @classmethod
    def from_config(cls, prior, config: LAVPSConfig | AmortizedOnlyConfig, amortizer=None, **_) -> LAVPS:
        """LAVPS from its config (AmortizedOnlyConfig: no guard, no inner step) and a trained amortizer."""
        if amortizer is None:
            raise ValueError(f"sampler {config.label!r} needs an amortizer: a trained network or the path of its file")
        check_final_tau(config, prior.schedule)
        if isinstance(config, AmortizedOnlyConfig):
            return cls(prior, amortizer, config.vi_settings(0), guard=False, inner_steps=0)
        return cls(
            prior,
            amortizer,
            config.vi_settings(config.inner_steps),
            config.guard_settings(),
            config.inner_steps,
            linear_variance=config.linear_variance,
            linear_below=config.linear_below,
            fallback_steps=config.fallback_steps,
            inner_tol=config.inner_tol,
            nonlinear_inner_steps=config.nonlinear_inner_steps,
            inner_taus=config.inner_taus,
        )

    def check_problem(self, problem: InverseProblem) -> None:
        """The amortizer's likelihood input A^T (y - A x0) / sigma_y^2 and the linearised solve in float32 break
        down below MIN_SIGMA: at sigma_y 1e-8 LAVPS returned unconditional draws (sr:2: 8 dB where MGDM has 27)."""
        sigma = getattr(problem.noise, "sigma", None)
        if sigma is not None and sigma < MIN_SIGMA:
            raise ValueError(
                f"{self.name} needs sigma_y >= {MIN_SIGMA:g} (its network and linearised solve run in float32), got "
                f"{sigma:g}; 8-bit images carry rounding noise of about 0.002. Use --sampler mgdm for a smaller sigma_y"
            )

    def inner_count(self, problem) -> int:
        """G_in on this problem: nonlinear_inner_steps where its likelihood is not linear-Gaussian."""
        if self.nonlinear_inner_steps is None or problem.is_linear_gaussian:
            return self.inner_steps
        return self.nonlinear_inner_steps

    def inner_cap(self, problem) -> int:
        """The most Adam steps any sample takes after the guard in one window iteration."""
        return max(self.inner_count(problem), self.fallback_steps or 0)

    def inner_draw(self, ctx: Context, bridge: BridgePrior, x_t, x0, tau, t, index: int):
        reuse = self.guard.enabled and self.guard.reuse_draw and self.inner_cap(ctx.problem) == 0
        if not reuse or not self.settings.adam_steps.in_window(index, self.window_span):
            return super().inner_draw(ctx, bridge, x_t, x0, tau, t, index)
        if self.settings.denoise_steps != 1:
            raise ValueError("reuse_draw needs denoise_steps = 1 (the guard's D(x) is the denoised value)")
        if self.settings.draw != "diagonal":
            raise ValueError("reuse_draw keeps the guard's scored draw, a diagonal one: it needs draw 'diagonal'")
        # the kept draw is the scored one: every candidate is scored at the tempered variance
        candidates = self.candidates(ctx, bridge, x_t, x0, tau, t)
        starts = {n: (mu, self.tempered(ctx, rho, tau)) for n, (mu, rho) in candidates.items()}
        _, _, _, x_tau, x0_new, _ = self.best_of(ctx, bridge, tau, starts)
        return x_tau, x0_new

    def variational_step(self, ctx: Context, bridge: BridgePrior, x_t, x0, tau, t, index: int):
        if not self.settings.adam_steps.in_window(index, self.window_span):
            return super().variational_step(ctx, bridge, x_t, x0, tau, t, index)
        starts = self.candidates(ctx, bridge, x_t, x0, tau, t)
        pending: list[torch.Tensor] = []
        budget = None
        low, high = self.inner_taus  # where the Adam steps pay depends on the family (docs/calibration.md)
        taus = torch.as_tensor(tau)
        cap = self.inner_cap(ctx.problem) if bool(((taus >= low) & (taus < high)).all()) else 0
        if self.guard.enabled:
            mu, rho, z, _, _, rejected = self.best_of(ctx, bridge, tau, starts)
            if cap > 0:  # reuse the guard's z for the first Adam step (see _Replay)
                pending.append(z)
            if self.fallback_steps is not None:
                budget = torch.where(rejected.cpu(), self.fallback_steps, self.inner_count(ctx.problem))
        else:
            mu, rho = starts["network"]
        fit_ctx = dataclasses.replace(ctx, noise=_Replay(ctx.noise, pending)) if pending else ctx
        lr = self.settings.lr.at(index, self.window_span)
        mu, rho = fit_gauss_vi(fit_ctx, bridge, tau, mu, rho, cap, lr, self.settings.whiten, budget, self.inner_tol)
        return mu, self.tempered(ctx, rho, tau)

    def candidates(self, ctx: Context, bridge: BridgePrior, x_t, x0, tau, t) -> dict[str, tuple]:
        """The competing starts {name: (mu, rho)} in tie order (see CANDIDATES)."""
        out = {}
        names = self.guard.candidates if self.guard.enabled else ("network",)
        if "linear" in names and self.near_data(tau):
            names = tuple(n for n in names if n != "network")  # it would be the linear start: score it once
        for name in names:
            if name == "zero_shot":
                out[name] = bridge.zero_shot_start()
            elif name == "linear":
                out[name] = self.linear_start(ctx, bridge, x0, tau)
            else:
                out[name] = self.amortized_start(ctx, bridge, x_t, x0, tau, t)
        return out

    def near_data(self, tau) -> bool:
        """Whether the linearised solution stands in for the network at tau (every sample below linear_below)."""
        return bool((torch.as_tensor(tau) < self.linear_below).all())

    def linear_start(self, ctx: Context, bridge: BridgePrior, x0, tau):
        """The Gaussian-linearised (Gauss-Newton for a non-linear problem) solution, no denoiser call."""
        abar, guard = self.schedule.abar(tau), self.guard
        return linearised_start(bridge, x0, abar, ctx.problem, guard.linear_iters, guard.linear_probes)

    def amortized_start(self, ctx: Context, bridge: BridgePrior, x_t, x0, tau, t):
        """The network's candidate (mu, rho) = (m + dmu, log s + drho [+ the linearised shrink]); one
        amortizer forward."""
        b = x_t.shape[0]
        abar = self.schedule.abar(tau)
        if self.near_data(tau):
            return self.linear_start(ctx, bridge, x0, tau)
        with torch.no_grad():
            codes = tuple(time_code(self.schedule, s, b, x_t.dtype, x_t.device) for s in (t, tau))
            mu, rho = self.amortizer.start(ctx.problem, bridge, x_t, x0, abar, *codes)
            check_finite(mu, "the amortizer (mean)")
            check_finite(rho, "the amortizer (log-std)")
            if self.linear_variance:
                shrink = linearised_log_std(bridge, abar, ctx.problem, rho, x0, self.guard.linear_probes)
                rho = rho + (shrink - bridge.log_std)
        ctx.denoise.amortizer_forwards += 1
        return mu, rho

    def best_of(self, ctx: Context, bridge: BridgePrior, tau, starts: dict[str, tuple]):
        """Per-sample guard: L_hat of every candidate on one z; keep the smallest (earlier names win ties).

        Costs one denoiser forward per candidate. A non-finite loss always loses. Returns
        (mu, rho, z, x, D(x)) of the winners, x = mu + e^rho z, and a (B,) bool tensor: the network
        competed and lost. Records the win fraction of every candidate in ctx.info[WINS_KEY] (the
        network's also in ctx.info[WIN_KEY]).
        """
        z = ctx.randn()
        recorder = _Recorder(ctx.denoise)
        losses, draws, denoised = [], [], []
        with torch.no_grad():
            for mu, rho in starts.values():
                loss = negative_elbo(mu, rho, z, bridge, tau, recorder, ctx.problem)
                losses.append(torch.where(torch.isfinite(loss), loss, torch.full_like(loss, float("inf"))))
                draws.append(mu + rho.exp() * z)
                denoised.append(recorder.last)
        winner = torch.stack(losses).argmin(0)  # first minimum: tie order

        def pick(tensors):
            stacked = torch.stack(tensors)
            index = winner.reshape(1, -1, *([1] * (stacked.ndim - 2))).expand(1, *stacked.shape[1:])
            return stacked.gather(0, index)[0]

        names = list(starts)
        wins = ctx.info.setdefault(WINS_KEY, {n: [] for n in self.guard.candidates})
        for n in wins:  # a candidate that did not compete this iteration (linear_below) won nothing
            wins[n].append(float((winner == names.index(n)).float().mean()) if n in names else 0.0)
        ctx.info.setdefault(WIN_KEY, []).append(wins["network"][-1])
        mus = [m for m, _ in starts.values()]
        rhos = [r for _, r in starts.values()]
        rejected = winner != names.index("network") if "network" in names else torch.zeros_like(winner, dtype=bool)
        return pick(mus), pick(rhos), z, pick(draws), pick(denoised), rejected
