"""Training of the supervised amortized baseline (docs/METHOD.md section 6): a conditional denoiser
(`lavps.amortize.denoiser`) trained on (x, y) pairs.

    D_psi(x_t, t, y) = D(x_t, t) + r_psi(x_t, D(x_t, t), y_img, sigma_t)

A residual around the frozen prior's denoiser (zero-initialised output: it starts as the prior),
trained with the standard denoising loss ||D_psi(x_t, t, y) - x||^2 on pairs (x, y = A x + sigma_y n)
of the in-distribution family, t uniform on the sampling grid. At test time it replaces the prior in
a plain DDIM sampler, with no likelihood: fast and good in distribution, expected to break outside.
With input_kind "pinv" (the default) y enters only as A^+ y; "grad" (A^T (y - A D(x_t, t)) / sigma_y^2)
would hand it the likelihood's gradient, i.e. make it a learned guidance rather than this baseline.
"""

from __future__ import annotations

import torch

from ..amortize.network import amortizer_inputs, time_code
from ..operators import OperatorFamily
from ..priors.specs import PriorPreset
from .networks import NetworkLoss, TrainConfig, TrainResult, train_network
from .problems import draw_noised_problem

__all__ = ["SUPERVISED", "supervised_loss", "train_supervised"]


def supervised_loss(
    net,
    generator: torch.Generator,
    config: TrainConfig,
    preset: PriorPreset,
    family: OperatorFamily,
    batch_size: int | None = None,
    clean: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """One batch of the denoising loss (mean squared error per coordinate) and its ratio to the prior's.

    batch_size / clean: see `draw_training_problem`.
    """
    schedule = preset.prior.schedule
    # t uniform on the grid's points T_1 .. T_{N-1}, x_t ~ q(x_t | x)
    d = draw_noised_problem(config, preset, family, generator, (1, config.grid_steps), 0, batch_size, clean)
    x, prior, problem, x_t, t = d.x, d.prior, d.problem, d.x_t, d.t
    b = x.shape[0]
    with torch.no_grad():
        x0_prior = prior.denoise(x_t, t)
        y_img = amortizer_inputs(net.input_kind, problem, x0_prior)
        base = (x0_prior - x).pow(2).mean()
    pred = net.denoise(x_t, x0_prior, y_img, time_code(schedule, t, b, x.dtype, x.device))
    loss = (pred - x).pow(2).mean()
    return loss, {"ratio": float(loss.detach() / base.clamp_min(1e-30))}


SUPERVISED = NetworkLoss(
    name="supervised",
    objective="denoising MSE on (x, y) pairs, t uniform on the grid",
    fn=supervised_loss,
    times=lambda config: {"grid_steps": config.grid_steps},
)


def train_supervised(
    config: TrainConfig,
    network_config: dict,
    preset: PriorPreset,
    family: OperatorFamily,
    progress: bool = True,
    resume: bool = False,
) -> TrainResult | None:
    """`train_network` on the denoising loss: writes `supervised.safetensors` + `supervised.json` in out_dir
    (`config.window` is unused: every grid time is trained)."""
    return train_network(config, network_config, preset, family, SUPERVISED, progress, resume)
