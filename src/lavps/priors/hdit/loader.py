"""Published HDiT checkpoints as lavps priors (`--prior hdit:FILE[:ffhq|:imagenet|:CONFIG.json]`).

The LAVPS paper's priors are .pt files holding {"ema": state_dict} of an EDM-preconditioned wrapper
(network weights under "unet.", plus an unused log-variance head "logvar_*"), each transformer layer
wrapped once more (".attn."). Also accepted: a plain state dict of that layout or of `HDiT` itself, in a
.pt or .safetensors file. A .pt file is read with `torch.load(weights_only=True)`: loading never runs code.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch

from ...diffusion import Schedule
from ..edm import VEDenoiserPrior
from ..torch_file import load_plain_tensors
from .config import HDIT_PRESETS, HDiTConfig, hdit_config
from .model import HDiTDenoiser, randomize_

__all__ = [
    "read_hdit_state_dict",
    "convert_hdit_state_dict",
    "load_hdit_denoiser",
    "load_hdit_prior",
    "load_hdit_spec",
    "random_hdit_prior",
    "parse_class_label",
    "with_class_label",
]

_WRAPPED_LAYER = re.compile(r"^((?:down_levels|up_levels)\.\d+|mid_level)\.(\d+)\.attn\.")


def read_hdit_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a .pt ({"ema": ...} or plain) or .safetensors HDiT checkpoint."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"HDiT checkpoint not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except Exception as e:  # safetensors raises its own error types
            raise ValueError(f"{path} is not a readable safetensors file ({type(e).__name__}: {e})") from None
    state = load_plain_tensors(path, "tensor checkpoint")
    if isinstance(state, dict) and isinstance(state.get("ema"), dict):
        state = state["ema"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} holds no state dict of tensors (expected {{'ema': state_dict}} or a state dict)")
    return state


def convert_hdit_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Published key layout -> `HDiT`'s (prefix "unet." and the per-layer ".attn." dropped, logvar head dropped)."""
    if any(k.startswith("unet.") for k in state):
        state = {k[len("unet.") :]: v for k, v in state.items() if not k.startswith("logvar_")}
    return {_WRAPPED_LAYER.sub(r"\1.\2.", k): v for k, v in state.items()}


def load_hdit_denoiser(
    state: dict[str, torch.Tensor], config: HDiTConfig, class_label: int | None = None, source: str = "checkpoint"
) -> HDiTDenoiser:
    """An `HDiTDenoiser` (fp32, eval, frozen) holding `state` (either key layout); names missing/unexpected keys."""
    with torch.device("meta"):
        denoiser = HDiTDenoiser(config, class_label)
    expected = denoiser.net.state_dict()
    converted = convert_hdit_state_dict(state)
    missing, unexpected = sorted(set(expected) - set(converted)), sorted(set(converted) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{source}: keys do not match the HDiT config: {len(missing)} missing (first: {missing[:3]}), "
            f"{len(unexpected)} unexpected (first: {unexpected[:3]})"
        )
    bad = [k for k, v in expected.items() if tuple(converted[k].shape) != tuple(v.shape)]
    if bad:
        k = bad[0]
        raise ValueError(
            f"{source}: {len(bad)} tensors do not fit the HDiT config (first: {k} has shape "
            f"{tuple(converted[k].shape)}, the config wants {tuple(expected[k].shape)})"
        )
    ints = [k for k, v in expected.items() if v.is_floating_point() and not converted[k].is_floating_point()]
    if ints:
        raise ValueError(
            f"{source}: {len(ints)} tensors are not floating point (first: {ints[0]} is {converted[ints[0]].dtype})"
        )
    weights = {k: v.float() if v.is_floating_point() else v for k, v in converted.items()}
    try:
        denoiser.net.load_state_dict(weights, strict=True, assign=True)
    except RuntimeError as e:  # torch lists every tensor: thousands of characters for a large network
        first = " ".join(str(e).strip().splitlines()[:3])[:400]
        raise ValueError(f"{source}: weights do not match the HDiT config ({first})") from None
    return denoiser.eval().requires_grad_(False)


def load_hdit_prior(
    path: str | Path, config: str | dict | HDiTConfig = "ffhq", class_label: int | None = None
) -> VEDenoiserPrior:
    """An HDiT checkpoint as a prior on the linear DDPM schedule (K = 1000), through the EDM -> VP adapter."""
    config = hdit_config(config)
    denoiser = load_hdit_denoiser(read_hdit_state_dict(path), config, class_label, source=str(path))
    return VEDenoiserPrior(denoiser, config.shape, Schedule.linear()).eval()


def parse_class_label(text: str, config: HDiTConfig) -> int:
    """'null' -> the null class (num_classes - 1); an integer string -> that class."""
    if text.strip().lower() == "null":
        if not config.num_classes:
            raise ValueError("this HDiT prior is unconditional: it takes no class label")
        return config.num_classes - 1
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"class label must be an integer or 'null', got {text!r}") from None


def load_hdit_spec(rest: str) -> VEDenoiserPrior:
    """The prior of a spec `hdit:FILE[:ffhq|:imagenet|:CONFIG.json][:class=N|:class=null]` (rest = after 'hdit:').

    FILE `random` (when no such file exists) gives seeded random weights (`random_hdit_prior`).
    """
    label_text = None
    head, sep, tail = rest.rpartition(":class=")
    if sep:
        rest, label_text = head, tail
    path, _, config_name = rest.rpartition(":")
    known = config_name.lower() in HDIT_PRESETS or config_name.endswith(".json")
    if path and not known and not Path(rest).is_file() and (path == "random" or Path(path).is_file()):
        raise ValueError(f"unknown HDiT preset {config_name!r}; allowed: {', '.join(HDIT_PRESETS)} or a CONFIG.json")
    if Path(rest).is_file() or not path or not (config_name.lower() in HDIT_PRESETS or config_name.endswith(".json")):
        path, config_name = rest, "ffhq"
    config = hdit_config(config_name)
    label = None if label_text is None else parse_class_label(label_text, config)
    if path == "random" and not Path(path).is_file():
        return random_hdit_prior(config, label)
    return load_hdit_prior(path, config, label)


def random_hdit_prior(config: str | dict | HDiTConfig = "ffhq", class_label: int | None = None, seed: int = 0):
    """An HDiT prior with seeded random weights (`hdit:random[:PRESET]`): for speed benchmarks and pipeline
    checks at the real network size; its samples mean nothing."""
    config = hdit_config(config)
    denoiser = HDiTDenoiser(config, class_label)
    randomize_(denoiser.net, seed)
    return VEDenoiserPrior(denoiser.eval().requires_grad_(False), config.shape, Schedule.linear()).eval()


def with_class_label(spec: str, class_label: int | str | None) -> str:
    """`spec` with a class label appended (`:class=N|null`); a ValueError for a prior that takes none."""
    if class_label is None:
        return spec
    if not spec.lower().startswith("hdit:"):
        raise ValueError(f"a class label is only for class-conditional HDiT priors (hdit:...); {spec!r} takes none")
    if ":class=" in spec:
        raise ValueError(f"prior spec {spec!r} already names a class; give it once")
    return f"{spec}:class={class_label}"
