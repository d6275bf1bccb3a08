"""A diffusers DDPM folder as a prior: a `UNet2DModel` folder, or a whole pipeline folder.

Pipeline folder: model_index.json with unet/ (config.json + weights) and scheduler/
(scheduler_config.json). UNet folder: config.json + weights, with the scheduler config read from
scheduler_config.json beside it or ../scheduler/, else diffusers' DDPMScheduler defaults (linear
1e-4 .. 0.02, 1000 steps, epsilon). The schedule comes from `Schedule.from_diffusers`, the prediction
type from `prediction_type`; diffusers' timestep j is our index j + 1 (timestep_offset = -1).
A latent diffusion folder (an autoencoder beside the UNet) is refused with a pointer to `ldm:DIR`:
its UNet denoises latents, not images.
Weights: diffusion_pytorch_model.safetensors, or the .bin read with `torch.load(weights_only=True)`.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers import UNet2DModel

from ..diffusion import Schedule
from .base import PREDICTIONS
from .image_unet import ImagePrior, _load_weights
from .torch_file import load_plain_tensors

__all__ = ["load_diffusers_prior", "LATENT_AUTOENCODERS"]

#: the autoencoder subfolders of a latent diffusion pipeline (`lavps.priors.latent` reads those folders)
LATENT_AUTOENCODERS = {"vqvae": "VQModel", "vae": "AutoencoderKL"}

_WEIGHTS = ("diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.bin")


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"{path}: not a readable JSON file ({e})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return value


def _latent_hint(folder: Path) -> str:
    return f"{folder} is a latent diffusion folder: use --prior ldm:{folder}"


def _locate(folder: Path) -> tuple[Path, Path | None]:
    """(unet folder, scheduler_config.json or None) of a pipeline or UNet folder."""
    if not folder.is_dir():
        raise FileNotFoundError(f"diffusers folder not found: {folder}")
    index = folder / "model_index.json"
    if index.is_file():
        pipeline = _read_json(index)
        if pipeline.get("_class_name") == "LDMPipeline" or any(sub in pipeline for sub in LATENT_AUTOENCODERS):
            raise ValueError(_latent_hint(folder))  # its UNet denoises latents, not images
        entry = pipeline.get("unet")
        if not isinstance(entry, list) or entry[-1] != "UNet2DModel":
            raise ValueError(f"{index}: the pipeline's unet must be a UNet2DModel, found {entry!r}")
        scheduler = folder / "scheduler" / "scheduler_config.json"
        if not scheduler.is_file():
            raise FileNotFoundError(f"diffusers pipeline {folder} lacks scheduler/scheduler_config.json")
        return folder / "unet", scheduler
    if (folder / "unet").is_dir() and any((folder / sub).is_dir() for sub in LATENT_AUTOENCODERS):
        raise ValueError(_latent_hint(folder))  # e.g. the shipped latent folder, which has no model_index.json
    for candidate in (folder / "scheduler_config.json", folder.parent / "scheduler" / "scheduler_config.json"):
        if candidate.is_file():
            return folder, candidate
    return folder, None


def _read_weights(folder: Path) -> tuple[dict[str, torch.Tensor], Path]:
    for name in _WEIGHTS:
        path = folder / name
        if path.is_file():
            break
    else:
        raise FileNotFoundError(f"diffusers UNet folder {folder} lacks {_WEIGHTS[0]} (or {_WEIGHTS[1]})")
    if path.suffix != ".safetensors":
        state = load_plain_tensors(path, "state dict of tensors")
    else:
        from safetensors.torch import load_file

        try:
            return load_file(str(path)), path
        except Exception as e:  # safetensors raises its own error types
            raise ValueError(f"{path} is not a readable weights file ({type(e).__name__}: {str(e)[:200]})") from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a plain state dict")
    return state, path


def load_diffusers_prior(folder: str | Path) -> ImagePrior:
    """The frozen `ImagePrior` of a diffusers `UNet2DModel` or DDPM pipeline folder (see module docstring)."""
    unet_dir, scheduler_path = _locate(Path(folder))
    config_path = unet_dir / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"diffusers UNet folder {unet_dir} lacks config.json")
    config = _read_json(config_path)
    if config.get("_class_name", "UNet2DModel") != "UNet2DModel":
        raise ValueError(f"{config_path}: lavps reads UNet2DModel folders, found {config['_class_name']!r}")
    if config.get("num_class_embeds") or config.get("class_embed_type"):
        raise ValueError(f"{config_path}: class-conditional UNets are not supported (lavps needs p(x))")
    try:
        net = UNet2DModel.from_config(config)
    except Exception as e:
        raise ValueError(f"{config_path}: not a UNet2DModel config ({type(e).__name__}: {e})") from None
    tensors, weights_path = _read_weights(unet_dir)
    _load_weights(net, tensors, weights_path)
    scheduler = _read_json(scheduler_path) if scheduler_path is not None else {}
    prediction = scheduler.get("prediction_type", "epsilon")
    if prediction not in PREDICTIONS:
        raise ValueError(f"{scheduler_path}: unsupported prediction_type {prediction!r}; allowed: {PREDICTIONS}")
    try:
        schedule = Schedule.from_diffusers(scheduler)
    except ValueError as e:
        raise ValueError(f"{scheduler_path}: {e}") from None
    return ImagePrior(net, schedule, timestep_offset=-1, prediction=prediction).eval().requires_grad_(False)
