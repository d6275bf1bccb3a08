"""The supervised amortized baseline (docs/METHOD.md section 6): a conditional denoiser trained on (x, y) pairs.

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

from ..diffusion import forward_sample, uniform_grid
from ..operators import OperatorFamily
from ..priors.specs import PriorPreset
from .loop import TrainResult, config_json, run_training
from .network import INPUT_KINDS, amortizer_inputs, mlp, register_architecture, time_code
from .training import TrainConfig, draw_training_problem, family_description

__all__ = ["ConditionalDenoiser", "MLPConditionalDenoiser", "supervised_loss", "train_supervised"]


class ConditionalDenoiser(torch.nn.Module):
    """Interface: forward(x_t, x0_prior, y_img, sigma_t) -> residual r, so that D_psi = x0_prior + r."""

    arch = ""

    def __init__(self, config: dict):
        super().__init__()
        if config.get("input_kind") not in INPUT_KINDS:
            raise ValueError(f"unknown input_kind {config.get('input_kind')!r}; allowed: {', '.join(INPUT_KINDS)}")
        self.config = dict(config, arch=self.arch)
        self.info: dict = {}

    @property
    def input_kind(self) -> str:
        return self.config["input_kind"]

    def denoise(self, x_t, x0_prior, y_img, sigma_t) -> torch.Tensor:
        """D_psi(x_t, t, y) = D(x_t, t) + r."""
        return x0_prior + self(x_t, x0_prior, y_img, sigma_t)


@register_architecture
class MLPConditionalDenoiser(ConditionalDenoiser):
    """MLP residual on flat vectors; inputs as in MLPAmortizer (scaled signals, log sigma_t)."""

    arch = "mlp-denoiser"

    def __init__(
        self, dim: int, hidden: int = 256, depth: int = 3, input_kind: str = "pinv", signal_scale: float = 1.0
    ):
        if dim < 1 or not signal_scale > 0:
            raise ValueError(f"need dim >= 1 and signal_scale > 0, got dim={dim}, signal_scale={signal_scale}")
        super().__init__(
            dict(
                shape=[int(dim)],
                hidden=int(hidden),
                depth=int(depth),
                input_kind=input_kind,
                signal_scale=float(signal_scale),
            )
        )
        self.net = mlp(3 * dim + 1, hidden, depth, dim)

    @classmethod
    def from_config(cls, config: dict) -> MLPConditionalDenoiser:
        return cls(config["shape"][0], config["hidden"], config["depth"], config["input_kind"], config["signal_scale"])

    def forward(self, x_t, x0_prior, y_img, sigma_t) -> torch.Tensor:
        scale = self.config["signal_scale"]
        y_feat = torch.asinh(y_img * scale) if self.input_kind == "grad" else y_img / scale
        feats = torch.cat([x_t / scale, x0_prior / scale, y_feat, sigma_t.log()[:, None].to(x_t.dtype)], dim=1)
        return scale * self.net(feats)


def supervised_loss(
    net,
    generator: torch.Generator,
    config: TrainConfig,
    preset: PriorPreset,
    family: OperatorFamily,
    batch_size: int | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """One batch of the denoising loss (mean squared error per coordinate) and its ratio to the prior's."""
    g = generator
    schedule = preset.prior.schedule
    grid = uniform_grid(config.grid_steps, schedule.num_steps)
    x, prior, problem = draw_training_problem(config, preset, family, g, batch_size)
    b = x.shape[0]
    t = grid[torch.randint(1, config.grid_steps, (b,), generator=g)]
    x_t = forward_sample(schedule, x, t, torch.randn(x.shape, generator=g, dtype=x.dtype))
    with torch.no_grad():
        x0_prior = prior.denoise(x_t, t)
        y_img = amortizer_inputs(net.input_kind, problem, x0_prior)
        base = (x0_prior - x).pow(2).mean()
    pred = net.denoise(x_t, x0_prior, y_img, time_code(schedule, t, b, x.dtype, x.device))
    loss = (pred - x).pow(2).mean()
    return loss, {"ratio": float(loss.detach() / base.clamp_min(1e-30))}


def train_supervised(
    config: TrainConfig,
    network_config: dict,
    preset: PriorPreset,
    family: OperatorFamily,
    progress: bool = True,
    resume: bool = False,
) -> TrainResult:
    """Train the supervised baseline; writes `supervised.safetensors` + `supervised.json` in out_dir.

    Same arguments as `train_amortizer` (`config.window` is unused: every grid time is trained).
    """
    if tuple(network_config.get("shape", ())) != tuple(preset.prior.shape):
        raise ValueError(
            f"network shape {network_config.get('shape')} does not match the prior's {list(preset.prior.shape)}"
        )
    info = {
        "prior": preset.description,
        "family": family_description(family),
        "grid_steps": config.grid_steps,
        "training": {"objective": "denoising MSE on (x, y) pairs, t uniform on the grid", **config_json(config)},
    }

    def step(net, chunk):
        return supervised_loss(net, chunk.generator, config, preset, family, chunk.size)

    return run_training(config, network_config, step, "supervised", info, progress, resume)
