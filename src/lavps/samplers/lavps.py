"""LAVPS: MGDM whose inner problem, inside the final window, starts from an amortized guess.

Zheng, Hirtz, Janati, Moulines, "Fast and Robust Likelihood-Guided Diffusion Posterior Sampling with
Amortized Variational Inference", arXiv:2602.07102. METHOD.md section 5.

Inside the window: candidates (m + dmu, log s + drho) from the network and (m, log s) (zero-shot);
L_hat of both on the SAME z; keep the smaller PER SAMPLE (the best-of guard); then G_in Adam steps.
Outside the window: plain MGDM. guard=False with G_in = 0 is the "amortized only" baseline.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch

from ..amortize.network import amortizer_inputs, check_compatible, time_code
from ..device import prior_device
from ..objective import BridgePrior, negative_elbo
from ..random import NoiseSource
from .base import Context
from .gauss_vi import fit_gauss_vi
from .mgdm import MGDM
from .settings import VISettings

__all__ = ["LAVPS"]

WIN_KEY = "amortizer_win_fraction"


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


class LAVPS(MGDM):
    """MGDM + the amortizer inside the window (settings.adam_steps.window), with a per-sample guard.

    Args:
        prior: the diffusion prior (must match the amortizer's shape and prior fingerprint).
        amortizer: a trained `lavps.amortize.Amortizer` (untrained = zero-shot start).
        settings: MGDM settings; outside the window they apply unchanged, inside it `inner_steps`
            replaces adam_steps.inside (lr.inside still applies).
        guard: keep, per sample, whichever of the network / zero-shot start has the smaller L_hat.
        inner_steps: G_in, Adam steps after the (guarded) start.
    """

    name = "lavps"

    def __init__(
        self,
        prior,
        amortizer,
        settings: VISettings | None = None,
        guard: bool = True,
        inner_steps: int = 3,
        dtype=torch.float32,
    ):
        super().__init__(prior, settings, dtype)
        if int(inner_steps) < 0:
            raise ValueError(f"inner_steps (G_in) must be >= 0, got {inner_steps}")
        if not hasattr(amortizer, "candidate") or not hasattr(amortizer, "config"):
            raise TypeError(f"amortizer must be a lavps.amortize.Amortizer, got {type(amortizer).__name__}")
        check_compatible(amortizer, prior, source="the amortizer")
        self.amortizer = amortizer.to(prior_device(prior))  # float32 wherever the prior's network runs
        self.guard = bool(guard)
        self.inner_steps = int(inner_steps)
        if not self.guard and self.inner_steps == 0:
            self.name = "amortized-only"

    def variational_step(self, ctx: Context, bridge: BridgePrior, x_t, x0, tau, t, index: int):
        if not self.settings.adam_steps.in_window(index, self.num_iterations):
            return super().variational_step(ctx, bridge, x_t, x0, tau, t, index)
        mu, rho = self.amortized_start(ctx, bridge, x_t, x0, tau, t)
        pending: list[torch.Tensor] = []
        if self.guard:
            mu, rho, z = self.best_of(ctx, bridge, tau, (mu, rho))
            if self.inner_steps > 0:  # reuse the guard's z for the first Adam step (see _Replay)
                pending.append(z)
        fit_ctx = dataclasses.replace(ctx, noise=_Replay(ctx.noise, pending)) if pending else ctx
        lr = self.settings.lr.at(index, self.num_iterations)
        return fit_gauss_vi(fit_ctx, bridge, tau, mu, rho, self.inner_steps, lr, self.settings.whiten)

    def amortized_start(self, ctx: Context, bridge: BridgePrior, x_t, x0, tau, t):
        """The network's candidate (mu, rho) = (m + dmu, log s + drho); one amortizer forward."""
        b = x_t.shape[0]
        with torch.no_grad():
            y_img = amortizer_inputs(self.amortizer.input_kind, ctx.problem, x0)
            codes = tuple(time_code(self.schedule, s, b, x_t.dtype, x_t.device) for s in (t, tau))
            mu, rho = self.amortizer.candidate(bridge, x_t, x0, y_img, *codes)
        ctx.denoise.amortizer_forwards += 1
        return mu, rho

    def best_of(self, ctx: Context, bridge: BridgePrior, tau, candidate):
        """Per-sample guard: L_hat of the candidate and of (m, log s) on one z; keep the smaller.

        Costs two denoiser forwards. A non-finite candidate loss always loses. Returns (mu, rho, z)
        and appends the fraction of samples where the network won to ctx.info[WIN_KEY].
        """
        z = ctx.randn()
        zero_shot = bridge.zero_shot_start()
        with torch.no_grad():
            l_net = negative_elbo(*candidate, z, bridge, tau, ctx.denoise, ctx.problem)
            l_zs = negative_elbo(*zero_shot, z, bridge, tau, ctx.denoise, ctx.problem)
        wins = torch.isfinite(l_net) & (l_net < l_zs)
        keep = wins.reshape(-1, *([1] * (z.ndim - 1)))
        mu = torch.where(keep, candidate[0], zero_shot[0])
        rho = torch.where(keep, candidate[1], zero_shot[1])
        ctx.info.setdefault(WIN_KEY, []).append(float(wins.float().mean()))
        return mu, rho, z
