"""Amortized variational inference: train f_phi on MGDM's own inner objective (docs/METHOD.md section 5).

Every step: clean x and its prior from the preset, per-sample operators A from a family,
y = A x + sigma_y n, a grid index k uniform in the window (tau = T_k, t = T_{k+1}, per sample),
x_t ~ forward marginal of x, x0 = D(x_t, t) (no grad), the bridge prior N(m, s^2 I) of x_tau,
(mu, rho) = (m + dmu, log s + drho), loss = mean over the batch of `negative_elbo` (the SAME function
the zero-shot inner solver minimises), with gradients through the frozen prior into phi; with
config.calibration_weight = lambda > 0, plus lambda * `bridge_sample_nll` (forward KL to the exact
posterior draws x_tau* ~ q(x_tau | x, x_t) of the true clean x: mass-covering, against reverse KL's
under-dispersion).
Diagnostics: ratio = the network's negative ELBO / the zero-shot start's on the same batch and the same z;
elbo and fkl = the two terms' batch means (fkl is logged at lambda = 0 too, without entering the loss).
"""

from __future__ import annotations

import torch

from ..amortize.network import time_code
from ..objective import bridge_prior, bridge_sample_nll, negative_elbo
from ..operators import OperatorFamily
from ..priors.specs import PriorPreset
from .loop import DataFactory, Validation
from .networks import NetworkLoss, TrainConfig, TrainResult, train_network
from .problems import draw_noised_problem

__all__ = ["AMORTIZED", "amortized_loss", "train_amortizer"]


def amortized_loss(
    net,
    generator: torch.Generator,
    config: TrainConfig,
    preset: PriorPreset,
    family: OperatorFamily,
    batch_size: int | None = None,
    clean: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """One batch of the amortized objective: (mean negative ELBO of the network [+ lambda * mean forward-KL
    term], {"ratio", "elbo", "fkl"}).

    batch_size / clean: see `draw_training_problem`.
    """
    schedule = preset.prior.schedule
    # k uniform in the window; tau = T_k, t = T_{k+1}, x_t ~ q(x_t | x)
    d = draw_noised_problem(config, preset, family, generator, (1, config.window + 1), 1, batch_size, clean)
    x, prior, problem, x_t, t, tau = d.x, d.prior, d.problem, d.x_t, d.t, d.grid[d.k]
    b = x.shape[0]
    z = torch.randn(x.shape, generator=generator, dtype=x.dtype)
    with torch.no_grad():
        x0 = prior.denoise(x_t, t)
        bridge = bridge_prior(schedule, x0, x_t, tau, t)
        base = negative_elbo(*bridge.zero_shot_start(), z, bridge, tau, prior.denoise, problem).mean()
    codes = time_code(schedule, t, b, x.dtype, x.device), time_code(schedule, tau, b, x.dtype, x.device)
    mu, rho = net.start(problem, bridge, x_t, x0, schedule.abar(tau), *codes)
    elbo = negative_elbo(mu, rho, z, bridge, tau, prior.denoise, problem).mean()
    with torch.set_grad_enabled(config.calibration_weight > 0):  # at weight 0 a logged diagnostic only
        fkl = bridge_sample_nll(mu, rho, bridge_prior(schedule, x, x_t, tau, t)).mean()  # the TRUE x: exact draws
    loss = elbo + config.calibration_weight * fkl if config.calibration_weight > 0 else elbo
    return loss, {"ratio": float(elbo.detach() / base), "elbo": float(elbo.detach()), "fkl": float(fkl.detach())}


AMORTIZED = NetworkLoss(
    name="amortizer",
    objective="negative_elbo (lavps.objective), amortized VI",
    fn=amortized_loss,
    times=lambda config: {"window": {"grid_steps": config.grid_steps, "window": config.window}},
)


def train_amortizer(
    config: TrainConfig,
    network_config: dict,
    preset: PriorPreset,
    family: OperatorFamily,
    progress: bool = True,
    resume: bool = False,
    data: DataFactory | None = None,
    validation: Validation | None = None,
) -> TrainResult | None:
    """`train_network` on the amortized loss: writes `amortizer.safetensors` + `amortizer.json` in out_dir."""
    return train_network(config, network_config, preset, family, AMORTIZED, progress, resume, data, validation)
