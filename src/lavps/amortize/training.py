"""Amortized variational inference: train f_phi on MGDM's own inner objective (docs/METHOD.md section 5).

Every step: clean x and its prior from the preset, per-sample operators A from a family,
y = A x + sigma_y n, a grid index k uniform in the window (tau = T_k, t = T_{k+1}, per sample),
x_t ~ forward marginal of x, x0 = D(x_t, t) (no grad), the bridge prior N(m, s^2 I) of x_tau,
(mu, rho) = (m + dmu, log s + drho), loss = mean over the batch of `negative_elbo` (the SAME function
the zero-shot inner solver minimises), with gradients through the frozen prior into phi.
Diagnostic: ratio = the network's loss / the zero-shot start's loss on the same batch and the same z.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..diffusion import forward_sample, uniform_grid
from ..objective import bridge_prior, negative_elbo
from ..operators import GaussianNoise, InverseProblem, OperatorFamily
from ..operators.families import CoordinateMaskFamily, DenseFamily, FamilyMixture
from ..priors.specs import PriorPreset
from ..training.loop import PRECISIONS, DataFactory, Validation
from .loop import TrainResult, config_json, run_training
from .network import time_code

__all__ = [
    "TrainConfig",
    "TrainResult",
    "train_amortizer",
    "amortized_loss",
    "draw_training_problem",
    "resolve_family",
    "family_description",
    "estimate_signal_scale",
]


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run (amortizer or supervised baseline; all end up in the card).

    Attributes:
        grid_steps, window: the sampling grid size N and the window: k ~ U{1..window}, tau = T_k,
            t = T_{k+1} (the iterations LAVPS amortizes are the last `window` of MGDM's N - 3).
        sigma, sigma_max: observation noise; with sigma_max, one sigma_y per chunk, log-uniform in
            [sigma, sigma_max].
        batch_size: the GLOBAL batch; micro_batches: K chunks per step (gradient accumulation, and
            the unit of randomness: see `lavps.training.loop`); precision: "fp32" or "bf16".
        val_every, patience: validation interval in steps and early-stopping patience (0: off).
        init_from: fine-tune the weights of this file (same network config; it may have been trained on
            another prior, e.g. the previous version of a prior) instead of fresh weights.
    """

    steps: int = 3000
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    grad_clip: float = 1.0
    seed: int = 0
    grid_steps: int = 100
    window: int = 30
    sigma: float = 1.0
    sigma_max: float | None = None
    ckpt_every: int = 500
    out_dir: str = "runs/amortizer"
    micro_batches: int = 1
    precision: str = "fp32"
    val_every: int = 0
    patience: int = 0
    init_from: str | None = None  # fine-tuning: start from this network file (same architecture)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "ckpt_every", "window", "micro_batches"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size % self.micro_batches:
            raise ValueError(f"batch size {self.batch_size} is not divisible by --grad-accum {self.micro_batches}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; allowed: {', '.join(PRECISIONS)}")
        if self.val_every < 0 or self.patience < 0:
            raise ValueError(f"val_every and patience must be >= 0, got {self.val_every}, {self.patience}")
        if not 1 <= self.window <= self.grid_steps - 3:
            raise ValueError(f"window must be in [1, grid_steps - 3 = {self.grid_steps - 3}], got {self.window}")
        if not (self.lr > 0 and self.weight_decay >= 0 and self.grad_clip >= 0):
            raise ValueError(
                f"need lr > 0, weight_decay >= 0, grad_clip >= 0, got {self.lr}, {self.weight_decay}, {self.grad_clip}"
            )
        GaussianNoise(self.sigma)  # validates sigma > 0
        if self.sigma_max is not None and not self.sigma_max >= self.sigma:
            raise ValueError(f"sigma_max must be >= sigma = {self.sigma}, got {self.sigma_max}")

    def draw_sigma(self, generator: torch.Generator) -> float:
        if self.sigma_max is None:
            return float(self.sigma)
        u = float(torch.rand((), generator=generator, dtype=torch.float64))
        return math.exp(math.log(self.sigma) + u * (math.log(self.sigma_max) - math.log(self.sigma)))


def resolve_family(spec: str, shape: tuple[int, ...]) -> OperatorFamily:
    """Operator family by spec: vectors `dense:K[:SCALE]` (K Gaussian rows, entries N(0, SCALE^2),
    SCALE = 1 as in the benchmark) or `mask:K` (K observed coordinates); images: see operators.spec.
    Several specs separated by commas give a FamilyMixture (one member drawn per batch)."""
    parts = [p.strip() for p in spec.split(",") if p.strip()]
    if len(parts) > 1:
        return FamilyMixture(tuple(resolve_family(p, shape) for p in parts))
    if len(shape) != 1:
        from ..operators import parse_operator_spec

        return parse_operator_spec(spec, tuple(shape))
    parts, dim = spec.strip().split(":"), shape[0]
    try:
        args = [float(p) for p in parts[1:]]
    except ValueError:
        args = []
    count = int(args[0]) if args and math.isfinite(args[0]) and args[0] == int(args[0]) >= 1 else None
    scale = args[1] if len(args) == 2 else 1.0
    if parts[0] == "dense" and count and len(args) <= 2 and math.isfinite(scale) and scale > 0:
        return DenseFamily(dim, count, scale=scale)
    if parts[0] == "mask" and count and len(args) == 1:
        return CoordinateMaskFamily(dim, count)
    raise ValueError(f"unknown operator family {spec!r} for vectors; allowed: dense:K[:SCALE], mask:K (K >= 1)")


def family_description(family: OperatorFamily) -> dict:
    return {"name": family.name, "repr": repr(family)}


def estimate_signal_scale(preset: PriorPreset, n: int = 4096, seed: int = 12345) -> float:
    """Root mean square of clean signals (a separate generator: training randomness is untouched)."""
    x, _ = preset.draw(n, torch.Generator().manual_seed(seed))
    return float(x.double().pow(2).mean().sqrt())


def draw_training_problem(
    config: TrainConfig,
    preset: PriorPreset,
    family: OperatorFamily,
    generator: torch.Generator,
    batch_size: int | None = None,
    clean: torch.Tensor | None = None,
):
    """A batch of clean signals, their prior, and y = A x + sigma_y n with per-sample operators.

    `clean` (B, *shape) replaces the preset's draw (images read from a folder); batch_size defaults
    to config.batch_size.
    """
    g = generator
    if clean is not None:
        b, x, prior = clean.shape[0], clean, preset.prior
    else:
        b = config.batch_size if batch_size is None else batch_size
        x, prior = preset.draw(b, g)
    operator = family.sample(b, g)
    noise = GaussianNoise(config.draw_sigma(g))
    y = noise.measure(x, operator, torch.randn((b, *operator.out_shape), generator=g))
    return x, prior, InverseProblem(y, operator, noise)


def amortized_loss(
    net,
    generator: torch.Generator,
    config: TrainConfig,
    preset: PriorPreset,
    family: OperatorFamily,
    batch_size: int | None = None,
    clean: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """One batch of the amortized objective: (mean negative ELBO of the network, {"ratio": ...}).

    batch_size / clean: see `draw_training_problem`.
    """
    g = generator
    schedule = preset.prior.schedule
    grid = uniform_grid(config.grid_steps, schedule.num_steps)
    x, prior, problem = draw_training_problem(config, preset, family, g, batch_size, clean)
    b = x.shape[0]
    k = torch.randint(1, config.window + 1, (b,), generator=g)
    tau, t = grid[k], grid[k + 1]
    x_t = forward_sample(schedule, x, t, torch.randn(x.shape, generator=g, dtype=x.dtype))
    z = torch.randn(x.shape, generator=g, dtype=x.dtype)
    with torch.no_grad():
        x0 = prior.denoise(x_t, t)
        bridge = bridge_prior(schedule, x0, x_t, tau, t)
        base = negative_elbo(*bridge.zero_shot_start(), z, bridge, tau, prior.denoise, problem).mean()
    codes = time_code(schedule, t, b, x.dtype, x.device), time_code(schedule, tau, b, x.dtype, x.device)
    mu, rho = net.start(problem, bridge, x_t, x0, schedule.abar(tau), *codes)
    loss = negative_elbo(mu, rho, z, bridge, tau, prior.denoise, problem).mean()
    return loss, {"ratio": float(loss.detach() / base)}


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
    """Train an amortizer; writes `amortizer.safetensors` + `amortizer.json` (card) in config.out_dir.

    Args:
        config: training settings.
        network_config: e.g. `MLPAmortizer(d, hidden, depth, input_kind, signal_scale).config`; the
            network is built from it with weights seeded by config.seed.
        preset: the prior and its clean training signals (`lavps.priors.specs.resolve_prior`).
        family: the operator family of the training problems (the in-distribution family).
        resume: continue the checkpoint in out_dir (see `run_training`).
        data: clean images per chunk (`lavps.data.folder.folder_data`); None: drawn from the preset.
        validation: see `lavps.amortize.validation.amortizer_validation`.
    """
    if tuple(network_config.get("shape", ())) != tuple(preset.prior.shape):
        raise ValueError(
            f"network shape {network_config.get('shape')} does not match the prior's {list(preset.prior.shape)}"
        )
    info = {
        "prior": preset.description,
        "family": family_description(family),
        "window": {"grid_steps": config.grid_steps, "window": config.window},
        "training": {"objective": "negative_elbo (lavps.objective), amortized VI", **config_json(config)},
    }

    if data is not None:
        info["data"] = getattr(data, "description", {"source": "image folder"})

    def step(net, chunk):
        return amortized_loss(net, chunk.generator, config, preset, family, chunk.size, chunk.data)

    return run_training(config, network_config, step, "amortizer", info, progress, resume, data, validation)
