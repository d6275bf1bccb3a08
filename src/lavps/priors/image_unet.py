"""Image priors with a diffusers `UNet2DModel` epsilon network, seen through the denoiser contract.

`ImagePrior` wraps an epsilon network whose timestep input is an index on the core's schedule and
returns Tweedie's x0 estimate (`denoiser_from_eps`). The project's own MNIST prior uses our index t
(1..K during training) directly; `load_diffusers_unet` adapts a user's diffusers DDPM folder, whose
timestep j is our index j + 1. Weights are read from safetensors only: loading never runs code.
"""

from __future__ import annotations

import inspect
import json
from importlib import resources
from pathlib import Path

import torch
from diffusers import UNet2DModel

from ..diffusion import Schedule, Time
from .base import denoiser_from_eps
from .checkpoint import load_tensors, save_tensors

__all__ = [
    "DEFAULT_UNET_CONFIG",
    "ImagePrior",
    "build_unet",
    "default_prior_path",
    "save_image_prior",
    "load_image_prior",
    "load_diffusers_unet",
]

PRIOR_KIND = "lavps.image_prior/1"

# About 1.06 M parameters: three resolutions (32, 16, 8), one ResNet block each, attention at 8x8.
DEFAULT_UNET_CONFIG: dict = {
    "sample_size": 32,
    "in_channels": 1,
    "out_channels": 1,
    "block_out_channels": [32, 64, 64],
    "layers_per_block": 1,
    "down_block_types": ["DownBlock2D", "DownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "UpBlock2D", "UpBlock2D"],
    "norm_num_groups": 8,
    "add_attention": True,
    "attention_head_dim": 32,
}

_LINEAR = {"kind": "linear", "num_steps": 1000, "beta_start": 1e-4, "beta_end": 0.02}


def build_unet(config: dict | None = None) -> UNet2DModel:
    """A fresh `UNet2DModel` from a plain (JSON-able) config; `DEFAULT_UNET_CONFIG` when None."""
    return UNet2DModel(**(DEFAULT_UNET_CONFIG if config is None else config))


class ImagePrior(torch.nn.Module):
    """D(x_t, t) from an epsilon UNet: (x_t - sqrt(1 - abar_t) eps(x_t, t + offset)) / sqrt(abar_t).

    Args:
        net: a `UNet2DModel` predicting the noise eps.
        schedule: the DDPM schedule the network was trained on (index 0 = clean).
        timestep_offset: added to our index before it enters the network (0 for lavps' own
            networks, -1 for diffusers DDPM checkpoints).
    """

    def __init__(self, net: UNet2DModel, schedule: Schedule | None = None, timestep_offset: int = 0):
        super().__init__()
        self.net = net
        self.schedule = schedule if schedule is not None else Schedule.linear()
        self.timestep_offset = int(timestep_offset)
        cfg = net.config
        self.shape: tuple[int, ...] = (int(cfg.in_channels), int(cfg.sample_size), int(cfg.sample_size))

    def eps(self, x_t: torch.Tensor, t: Time) -> torch.Tensor:
        """The network's noise prediction for x_t of shape (B, C, H, W) at our index t."""
        if x_t.ndim != 4 or tuple(x_t.shape[1:]) != self.shape:
            raise ValueError(f"expected x_t of shape (B, {', '.join(map(str, self.shape))}), got {tuple(x_t.shape)}")
        t_ = torch.as_tensor(t, dtype=torch.long, device=x_t.device).expand(x_t.shape[0])
        # The network never sees t = 0 (abar_0 = 1 makes eps irrelevant there); clamp keeps it in range.
        steps = (t_ + self.timestep_offset).clamp(min=0)
        dtype = next(self.net.parameters()).dtype
        return self.net(x_t.to(dtype), steps).sample.to(x_t.dtype)

    def denoise(self, x_t: torch.Tensor, t: Time) -> torch.Tensor:
        """E[x_0 | x_t] estimate; t an int or a (B,) LongTensor in 0..K. D(x, 0) = x."""
        if isinstance(t, int) and t == 0:
            return x_t
        return denoiser_from_eps(self.schedule, x_t, t, self.eps(x_t, t))

    forward = denoise


def default_prior_path() -> Path:
    """Path of the MNIST 32x32 prior shipped inside the package (it may not exist in a dev checkout)."""
    return Path(str(resources.files("lavps") / "assets" / "mnist32_prior.safetensors"))


def save_image_prior(prior: ImagePrior, path: str | Path, card: dict) -> Path:
    """Write the prior's weights (+ architecture and schedule in the metadata) and `<stem>.json` card."""
    path = Path(path)
    header = {
        "kind": PRIOR_KIND,
        "unet_config": _plain_config(prior.net),
        "schedule": _LINEAR,
        "timestep_offset": prior.timestep_offset,
        "prediction": "epsilon",
    }
    save_tensors(path, prior.net.state_dict(), header)
    path.with_suffix(".json").write_text(json.dumps(card, indent=2, sort_keys=True, default=str) + "\n")
    return path


def load_image_prior(path: str | Path | None = None) -> ImagePrior:
    """Load a prior written by `save_image_prior` (default: the shipped MNIST prior), frozen, eval mode.

    The card `<stem>.json`, when present, is attached as `prior.card`.
    """
    path = default_prior_path() if path is None else Path(path)
    tensors, header = load_tensors(path, kind=PRIOR_KIND)
    try:
        net = build_unet(header["unet_config"])
        schedule = Schedule.linear(**{k: v for k, v in header["schedule"].items() if k != "kind"})
        offset = int(header.get("timestep_offset", 0))
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: invalid prior metadata ({type(e).__name__}: {e})") from None
    _load_weights(net, tensors, path)
    prior = ImagePrior(net, schedule, offset).eval().requires_grad_(False)
    card_path = path.with_suffix(".json")
    prior.card = json.loads(card_path.read_text()) if card_path.is_file() else {}
    return prior


def load_diffusers_unet(folder: str | Path) -> ImagePrior:
    """Adapter for a diffusers DDPM `UNet2DModel` folder (config.json + diffusion_pytorch_model.safetensors).

    The network must predict epsilon on the linear schedule 1e-4..0.02 with 1000 steps (the diffusers
    DDPM default). Diffusers counts timesteps from 0: its alphas_cumprod[j] is our abar_{j+1}, so our
    index t enters the network as timestep j = t - 1 (timestep_offset = -1).
    """
    folder = Path(folder)
    config_path, weights_path = folder / "config.json", folder / "diffusion_pytorch_model.safetensors"
    for p in (config_path, weights_path):
        if not p.is_file():
            raise FileNotFoundError(f"diffusers UNet folder {folder} lacks {p.name}")
    try:
        config = json.loads(config_path.read_text())
        net = UNet2DModel.from_config(config)
    except Exception as e:
        raise ValueError(f"{config_path}: not a UNet2DModel config ({type(e).__name__}: {e})") from None
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(weights_path))
    except Exception as e:
        raise ValueError(f"{weights_path} is not a readable safetensors file ({e})") from None
    _load_weights(net, tensors, weights_path)
    _check_diffusers_scheduler(folder)
    return ImagePrior(net, Schedule.linear(), timestep_offset=-1).eval().requires_grad_(False)


def _check_diffusers_scheduler(folder: Path) -> None:
    """If the pipeline's scheduler config is there (../scheduler/ or beside), it must be our schedule."""
    for path in (folder.parent / "scheduler" / "scheduler_config.json", folder / "scheduler_config.json"):
        if path.is_file():
            cfg = json.loads(path.read_text())
            expected = {"num_train_timesteps": 1000, "beta_start": 1e-4, "beta_end": 0.02}
            expected |= {"beta_schedule": "linear", "prediction_type": "epsilon"}
            bad = {k: cfg[k] for k, v in expected.items() if k in cfg and cfg[k] != v}
            if bad:
                raise ValueError(f"{path}: lavps needs the linear DDPM schedule {expected}, found {bad}")


def _plain_config(net: UNet2DModel) -> dict:
    """Every constructor argument of the network (defaults included), as plain JSON values."""
    params = inspect.signature(UNet2DModel.__init__).parameters
    return json.loads(json.dumps({k: v for k, v in net.config.items() if k in params}))


def _load_weights(net: torch.nn.Module, tensors: dict[str, torch.Tensor], path: Path) -> None:
    try:
        net.load_state_dict(tensors, strict=True)
    except RuntimeError as e:
        first = str(e).strip().splitlines()
        raise ValueError(f"{path}: weights do not match the architecture ({' '.join(first[:3])[:400]})") from None
