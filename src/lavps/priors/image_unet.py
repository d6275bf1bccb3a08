"""Image priors with a diffusers `UNet2DModel` network, seen through the denoiser contract.

`ImagePrior` wraps a network whose timestep input is an index on the core's schedule (plus an offset)
and returns the x0 estimate of its prediction type (`denoiser_from_output`). The project's own MNIST
prior uses our index t (1..K during training) directly; the adapters for diffusers folders
(`lavps.priors.diffusers_folder`) and ADM checkpoints (`lavps.priors.adm`) use offset -1, because their
timestep j is our index j + 1. Weights are read from safetensors only: loading never runs code.
"""

from __future__ import annotations

import inspect
import json
import warnings
from importlib import resources
from pathlib import Path

import torch
from diffusers import UNet2DModel

from ..diffusion import Schedule, Time
from ..jsonfile import write_json
from .base import PREDICTIONS, clean_at_zero, denoiser_from_output
from .checkpoint import load_tensors, save_tensors

__all__ = [
    "DEFAULT_UNET_CONFIG",
    "ImagePrior",
    "build_unet",
    "default_prior_path",
    "save_image_prior",
    "load_image_prior",
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
    """D(x_t, t) from a UNet's output at timestep t + offset, e.g. (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t).

    Args:
        net: a `UNet2DModel` predicting `prediction` (C output channels, or 2C with learned variance).
        schedule: the DDPM schedule the network was trained on (index 0 = clean).
        timestep_offset: added to our index before it enters the network (0 for lavps' own
            networks, -1 for diffusers and ADM checkpoints).
        prediction: epsilon, v_prediction or sample.
    """

    def __init__(
        self, net: UNet2DModel, schedule: Schedule | None = None, timestep_offset: int = 0, prediction: str = "epsilon"
    ):
        super().__init__()
        if prediction not in PREDICTIONS:
            raise ValueError(f"unknown prediction type {prediction!r}; allowed: {', '.join(PREDICTIONS)}")
        self.net = net
        self.schedule = schedule if schedule is not None else Schedule.linear()
        self.timestep_offset = int(timestep_offset)
        self.prediction = prediction
        cfg = net.config
        size = cfg.sample_size if isinstance(cfg.sample_size, (list, tuple)) else (cfg.sample_size, cfg.sample_size)
        self.shape: tuple[int, ...] = (int(cfg.in_channels), int(size[0]), int(size[1]))

    @property
    def fingerprint_config(self) -> dict:
        """What the prior's fingerprint hashes beside the tensors: the prediction type and timestep offset where
        they are not the defaults (so the fingerprints of default priors, the shipped one's, stay as they were)."""
        own = {"timestep_offset": self.timestep_offset, "prediction": self.prediction}
        return {k: v for k, v in own.items() if v != {"timestep_offset": 0, "prediction": "epsilon"}[k]}

    def net_output(self, x_t: torch.Tensor, t: Time) -> torch.Tensor:
        """The network's raw output (eps, v or x0; C or 2C channels) for x_t of shape (B, C, H, W) at index t."""
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
        x0_hat = denoiser_from_output(self.schedule, x_t, t, self.net_output(x_t, t), self.prediction)
        return clean_at_zero(x_t, t, x0_hat)

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
    write_json(path.with_suffix(".json"), card, sort_keys=True)  # whole or not at all
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
    prior.card = _read_card(path.with_suffix(".json"))
    return prior


def _read_card(card_path: Path) -> dict:
    """The prior's card (provenance only: sampling never reads it); an unreadable one is named in a warning."""
    if not card_path.is_file():
        return {}
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError) as e:
        warnings.warn(f"ignoring the unreadable prior card {card_path}: {e}", stacklevel=3)
        return {}
    return card if isinstance(card, dict) else {}


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
