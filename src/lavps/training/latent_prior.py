"""Training of the small latent MNIST prior: a KL autoencoder, then a DDPM UNet on its latents.

Stage 1 (`train_autoencoder`): a diffusers AutoencoderKL, 1x32x32 -> 4x8x8, loss per image
mean_pixels (decode(z) - x)^2 + kl_weight * mean_entries KL(q(z|x) || N(0, I)), z ~ q(z|x) drawn from the
chunk's generator. Stage 2 (`train_latent_unet`): the latents of the MNIST train split (the posterior
MEANS times `scaling_factor` = 1 / their std, as Stable Diffusion scales its latents) are the data of the
SAME epsilon loss as the pixel prior (`lavps.training.prior.eps_loss`), with diffusers' timestep
convention (network timestep = lavps index - 1) so the exported folder is a standard LDM folder.
Both stages run in the one resumable loop (`lavps.training.loop`); `export_latent_prior` writes the
diffusers layout `--prior ldm:DIR` reads (vae/, unet/ with EMA weights, scheduler/) plus card.json.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import AutoencoderKL, UNet2DModel

from ..data.mnist import mnist_split
from ..diffusion import Schedule
from ..priors.checkpoint import load_tensors
from .loop import CHECKPOINT_KIND, Chunk, LoopSettings, config_json, run_loop
from .prior import eps_loss

__all__ = [
    "AutoencoderTrainConfig",
    "LatentUNetTrainConfig",
    "autoencoder_config",
    "latent_unet_config",
    "train_autoencoder",
    "load_autoencoder_checkpoint",
    "encode_latents",
    "train_latent_unet",
    "export_latent_prior",
    "SCHEDULER_CONFIG",
]

#: diffusers' DDPMScheduler defaults = lavps's `Schedule.linear()` (betas 1e-4..0.02, K = 1000)
SCHEDULER_CONFIG = {
    "_class_name": "DDPMScheduler",
    "num_train_timesteps": 1000,
    "beta_start": 0.0001,
    "beta_end": 0.02,
    "beta_schedule": "linear",
    "prediction_type": "epsilon",
    "clip_sample": False,
}


@dataclass(frozen=True)
class AutoencoderTrainConfig(LoopSettings):
    """Stage 1 settings (the optimisation block is `LoopSettings`'s)."""

    steps: int = 3000
    batch_size: int = 32
    lr: float = 1e-3
    warmup: int = 100
    ckpt_every: int = 250
    channels: tuple[int, ...] = (16, 32, 32)
    latent_channels: int = 4
    kl_weight: float = 1e-3
    out_dir: str = "runs/latent_ae"

    def __post_init__(self) -> None:
        super().__post_init__()
        if any(c % 8 for c in self.channels) or len(self.channels) != 3:
            raise ValueError(f"channels must be 3 multiples of 8 (32 -> 8 latents), got {self.channels}")
        if not self.kl_weight >= 0:
            raise ValueError(f"kl_weight must be >= 0, got {self.kl_weight}")


@dataclass(frozen=True)
class LatentUNetTrainConfig(LoopSettings):
    """Stage 2 settings: the latent UNet (EMA weights are exported)."""

    steps: int = 20000
    batch_size: int = 64
    lr: float = 1e-3
    warmup: int = 200
    ema_decay: float = 0.999
    ckpt_every: int = 500
    channels: tuple[int, ...] = (32, 64)
    out_dir: str = "runs/latent_unet"


def autoencoder_config(config: AutoencoderTrainConfig) -> dict:
    return {
        "in_channels": 1,
        "out_channels": 1,
        "down_block_types": ["DownEncoderBlock2D"] * 3,
        "up_block_types": ["UpDecoderBlock2D"] * 3,
        "block_out_channels": list(config.channels),
        "layers_per_block": 1,
        "latent_channels": config.latent_channels,
        "norm_num_groups": 8,
        "sample_size": 32,
    }


def latent_unet_config(config: LatentUNetTrainConfig, latent_channels: int) -> dict:
    n = len(config.channels)
    return {
        "sample_size": 8,
        "in_channels": latent_channels,
        "out_channels": latent_channels,
        "block_out_channels": list(config.channels),
        "layers_per_block": 1,
        "down_block_types": ["DownBlock2D"] * n,
        "up_block_types": ["UpBlock2D"] * n,
        "norm_num_groups": 8,
        "attention_head_dim": min(32, config.channels[-1]),
    }


def _autoencoder_loss(net: AutoencoderKL, chunk: Chunk, data: torch.Tensor, kl_weight: float):
    idx = torch.randint(0, data.shape[0], (chunk.size,), generator=chunk.generator)
    x = data[idx]
    posterior = net.encode(x).latent_dist
    z = posterior.mean + posterior.std * torch.randn(posterior.mean.shape, generator=chunk.generator)
    mse = torch.nn.functional.mse_loss(net.decode(z).sample, x)
    kl = 0.5 * (posterior.mean.pow(2) + posterior.var - 1.0 - posterior.logvar).mean()
    return mse + kl_weight * kl, {"mse": float(mse.detach()), "kl": float(kl.detach())}


def train_autoencoder(config: AutoencoderTrainConfig, progress: bool = True, resume: bool = False) -> Path:
    """Stage 1 in config.out_dir; returns its checkpoint (weights under `model.`, no EMA)."""
    ckpt = Path(config.out_dir) / "checkpoint.safetensors"
    data, _ = mnist_split("train")
    network = autoencoder_config(config)
    identity = {"name": "latent_autoencoder", "config": config_json(config), "network": network}
    run_loop(
        config,
        lambda: AutoencoderKL(**network),
        lambda net, chunk: _autoencoder_loss(net, chunk, data, config.kl_weight),
        ckpt,
        identity,
        resumable={"steps", "ckpt_every", "out_dir"},
        resume=resume,
        progress=progress,
    )
    return ckpt


def _weights(tensors: dict, prefix: str) -> dict:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def load_autoencoder_checkpoint(path: str | Path) -> tuple[AutoencoderKL, dict]:
    """The trained autoencoder of a stage-1 checkpoint (eval, frozen) and the checkpoint's header."""
    tensors, header = load_tensors(Path(path), kind=CHECKPOINT_KIND)
    net = AutoencoderKL(**header["network"])
    net.load_state_dict(_weights(tensors, "model."))
    return net.eval().requires_grad_(False), header


@torch.no_grad()
def encode_latents(autoencoder: AutoencoderKL, images: torch.Tensor, batch_size: int = 250) -> torch.Tensor:
    """Posterior means of images (unscaled)."""
    return torch.cat(
        [autoencoder.encode(images[i : i + batch_size]).latent_dist.mean for i in range(0, len(images), batch_size)]
    )


def train_latent_unet(
    config: LatentUNetTrainConfig, latents: torch.Tensor, progress: bool = True, resume: bool = False
) -> Path:
    """Stage 2 on scaled latents (N, C, 8, 8); returns the checkpoint (EMA weights under `ema.`)."""
    ckpt = Path(config.out_dir) / "checkpoint.safetensors"
    network = latent_unet_config(config, latents.shape[1])
    schedule = Schedule.linear()
    identity = {"name": "latent_unet", "config": config_json(config), "network": network}
    run_loop(
        config,
        lambda: UNet2DModel(**network),
        lambda net, chunk: eps_loss(net, chunk, latents, schedule, timestep_offset=-1),
        ckpt,
        identity,
        resumable={"steps", "ckpt_every", "out_dir"},
        resume=resume,
        progress=progress,
    )
    return ckpt


def _save_half(net: torch.nn.Module, folder: Path, config: dict, class_name: str) -> None:
    """config.json + fp16 safetensors (the loader casts to the float32 network: a ~2x smaller asset)."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"_class_name": class_name, **config}, indent=1) + "\n")
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in net.state_dict().items()}
    save_file(state, str(folder / "diffusion_pytorch_model.safetensors"))


def export_latent_prior(
    autoencoder_ckpt: str | Path, unet_ckpt: str | Path, scaling_factor: float, dest: str | Path, card: dict
) -> Path:
    """Write the diffusers LDM folder (vae/, unet/ EMA, scheduler/) and card.json into dest."""
    dest = Path(dest)
    autoencoder, ae_header = load_autoencoder_checkpoint(autoencoder_ckpt)
    tensors, header = load_tensors(Path(unet_ckpt), kind=CHECKPOINT_KIND)
    unet = UNet2DModel(**header["network"])
    unet.load_state_dict(_weights(tensors, "ema."))
    _save_half(autoencoder, dest / "vae", {**ae_header["network"], "scaling_factor": scaling_factor}, "AutoencoderKL")
    _save_half(unet, dest / "unet", header["network"], "UNet2DModel")
    (dest / "scheduler").mkdir(parents=True, exist_ok=True)
    (dest / "scheduler" / "scheduler_config.json").write_text(json.dumps(SCHEDULER_CONFIG, indent=1) + "\n")
    full = {
        "what": "latent DDPM prior of MNIST 32x32: AutoencoderKL (1x32x32 -> 4x8x8) + epsilon UNet2DModel (EMA)",
        "autoencoder": {
            "settings": ae_header["config"],
            "steps": int(ae_header["step"]),
            "wall_time_s": round(float(ae_header["wall_time"]), 1),
            "final_loss": round(float(ae_header["loss_avg"]), 5),
            "num_parameters": sum(p.numel() for p in autoencoder.parameters()),
            "scaling_factor": scaling_factor,
        },
        "unet": {
            "settings": header["config"],
            "steps": int(header["step"]),
            "wall_time_s": round(float(header["wall_time"]), 1),
            "final_loss": round(float(header["loss_avg"]), 5),
            "num_parameters": sum(p.numel() for p in unet.parameters()),
        },
        "weights": "float16 safetensors (read into float32 networks)",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **card,
    }
    (dest / "card.json").write_text(json.dumps(full, indent=1, sort_keys=True) + "\n")
    return dest
