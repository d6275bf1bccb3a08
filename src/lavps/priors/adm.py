"""OpenAI guided-diffusion (ADM) checkpoints as priors, converted onto diffusers' `UNet2DModel`.

Dhariwal & Nichol, "Diffusion Models Beat GANs on Image Synthesis" (NeurIPS 2021),
https://github.com/openai/guided-diffusion. An unconditional ADM UNet is a `UNet2DModel` with
scale-shift ResNet blocks (`resnet_time_scale_shift="scale_shift"`), ResNet up/down-sampling blocks
(`resblock_updown`), attention with a fixed head width, sinusoidal embeddings [cos, sin] and GroupNorm(32)
inside attention. `convert_adm_state_dict` renames the keys and splits the fused qkv 1x1 convolution into
the q, k, v linear maps. The .pt file is read with `torch.load(weights_only=True)`: loading never runs code.

Architecture flags use guided-diffusion's names (`ADM_PRESETS`, or a JSON file with the same keys).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
from diffusers import UNet2DModel

from ..diffusion import Schedule
from .config_checks import check_bool, check_choice, check_int, check_number
from .image_unet import ImagePrior
from .torch_file import load_plain_tensors

__all__ = [
    "ADM_PRESETS",
    "adm_flags",
    "adm_unet_config",
    "adm_schedule",
    "convert_adm_state_dict",
    "load_adm_prior",
    "load_adm_spec",
]

_COMMON = {
    "in_channels": 3,
    "class_cond": False,
    "learn_sigma": True,
    "num_heads": 4,
    "num_head_channels": 64,
    "num_heads_upsample": -1,
    "use_scale_shift_norm": True,
    "resblock_updown": True,
    "use_new_attention_order": False,
    "dropout": 0.0,
    "diffusion_steps": 1000,
    "noise_schedule": "linear",
}

# ffhq: ffhq_10m.pt of the DPS repository (configs/model_config.yaml);
# imagenet: 256x256_diffusion_uncond.pt of openai/guided-diffusion (its README's flags).
ADM_PRESETS: dict[str, dict] = {
    "ffhq": _COMMON
    | {"image_size": 256, "num_channels": 128, "num_res_blocks": 1, "channel_mult": "", "attention_resolutions": "16"},
    "imagenet": _COMMON
    | {
        "image_size": 256,
        "num_channels": 256,
        "num_res_blocks": 2,
        "channel_mult": "",
        "attention_resolutions": "32,16,8",
    },
}

#: guided-diffusion flags that do not change the network or its weights (true/false)
_EXTRA_FLAGS = ("rescale_timesteps", "use_fp16", "use_checkpoint")

# guided-diffusion's default channel_mult per image size (script_util.create_model).
_DEFAULT_MULT = {512: (0.5, 1, 1, 2, 2, 4, 4), 256: (1, 1, 2, 2, 4, 4), 128: (1, 1, 2, 3, 4), 64: (1, 2, 3, 4)}

# Blocks without attention, by resblock_updown (ResNet or plain up/down-sampling).
_PLAIN_BLOCKS = {True: ("ResnetDownsampleBlock2D", "ResnetUpsampleBlock2D"), False: ("DownBlock2D", "UpBlock2D")}

_RES = {"norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1"}
_RES |= {"norm2": "out_layers.0", "conv2": "out_layers.3", "conv_shortcut": "skip_connection"}


def adm_flags(source: str | dict) -> dict:
    """Complete architecture flags from a preset name, a JSON file path or a dict (missing keys: `_COMMON`).

    Each value's type and range is checked; a bad one is a ValueError naming the file (or "ADM flags") and key.
    """
    where = "ADM flags"
    if isinstance(source, dict):
        flags = dict(source)
    elif source in ADM_PRESETS:
        return dict(ADM_PRESETS[source])
    elif str(source).endswith(".json"):
        path = where = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"ADM flags file not found: {path}")
        try:
            flags = json.loads(path.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON ({e})") from None
        if not isinstance(flags, dict):
            raise ValueError(f"{path}: ADM flags must be a JSON object")
    else:
        raise ValueError(f"unknown ADM preset {source!r}; allowed: {', '.join(ADM_PRESETS)} or a flags .json file")
    unknown = sorted(set(flags) - set(ADM_PRESETS["ffhq"]) - set(_EXTRA_FLAGS))
    if unknown:
        raise ValueError(f"{where}: unknown flags {unknown}; allowed: {sorted(ADM_PRESETS['ffhq'])}")
    for key in ("image_size", "num_channels", "num_res_blocks"):
        if key not in flags:
            raise ValueError(f"{where}: the flags lack {key!r}")
    flags = _COMMON | flags
    _check_flags(flags, str(where))
    if flags.get("rescale_timesteps") and flags["diffusion_steps"] != 1000:
        raise ValueError(f"{where}: rescale_timesteps with diffusion_steps != 1000 is not supported")
    return flags


def _check_flags(flags: dict, where: str) -> None:
    """Types and ranges, so that a zero or a typo is named here, not met as a ZeroDivisionError later."""
    for key in ("image_size", "num_channels", "num_res_blocks", "in_channels", "num_heads", "diffusion_steps"):
        check_int(where, key, flags[key], 1)
    for key in ("num_head_channels", "num_heads_upsample"):
        check_int(where, key, flags[key], 1, also=(-1,))  # -1: derived from num_heads
    for key in ("class_cond", "learn_sigma", "use_scale_shift_norm", "resblock_updown", "use_new_attention_order"):
        check_bool(where, key, flags[key])
    for key in _EXTRA_FLAGS:
        if key in flags:
            check_bool(where, key, flags[key])
    check_number(where, "dropout", flags["dropout"], "a number in [0, 1)", lambda v: 0 <= v < 1)
    check_choice(where, "noise_schedule", flags["noise_schedule"], ("linear", "cosine"))
    mult = _mult(flags, where)
    if mult[0] != 1:
        raise ValueError(f"{where}: channel_mult must start with 1 to map onto UNet2DModel, got {mult}")
    res = flags["attention_resolutions"]
    parts = [res] if isinstance(res, int) else res.split(",") if isinstance(res, str) else res
    ok = isinstance(parts, (list, tuple)) and all(
        str(r).strip().isdigit() and int(r) >= 1 for r in parts if str(r).strip()
    )
    if not ok or isinstance(res, bool):
        raise ValueError(f"{where}: attention_resolutions must be a comma-separated list of integers >= 1, got {res!r}")


def _mult(flags: dict, where: str = "ADM flags") -> tuple[float, ...]:
    mult = flags.get("channel_mult", "")
    if isinstance(mult, str) and not mult.strip():
        if flags["image_size"] not in _DEFAULT_MULT:
            raise ValueError(
                f"{where}: channel_mult is empty and image_size {flags['image_size']} has no default "
                f"(defaults for {sorted(_DEFAULT_MULT)}); give channel_mult"
            )
        return _DEFAULT_MULT[flags["image_size"]]
    parts = mult.split(",") if isinstance(mult, str) else mult
    try:
        values = tuple(float(m) for m in parts if not isinstance(m, bool))
    except (TypeError, ValueError):
        values = ()
    if not values or len(values) != len(parts) or not all(math.isfinite(m) and m > 0 for m in values):
        raise ValueError(f"{where}: channel_mult must be a comma-separated list of numbers > 0, got {mult!r}")
    return values


def _attention_levels(flags: dict) -> list[bool]:
    res = flags["attention_resolutions"]
    res = [res] if isinstance(res, int) else res.split(",") if isinstance(res, str) else res
    res = [int(r) for r in res if str(r).strip()]
    ds = {flags["image_size"] // r for r in res}
    return [2**level in ds for level in range(len(_mult(flags)))]


def _head_dim(flags: dict, channels: int, upsample: bool) -> int:
    if flags["num_head_channels"] != -1:
        return int(flags["num_head_channels"])
    heads = flags["num_heads_upsample"] if upsample and flags["num_heads_upsample"] != -1 else flags["num_heads"]
    if channels % int(heads):
        raise ValueError(f"ADM flags: {channels} channels do not split into {heads} attention heads")
    return channels // int(heads)


def adm_unet_config(flags: dict) -> dict:
    """`UNet2DModel` constructor arguments that express the ADM of `flags` (unconditional only)."""
    if flags["class_cond"]:
        raise ValueError("class-conditional ADM checkpoints are not supported (lavps needs an unconditional prior)")
    mult, attn = _mult(flags), _attention_levels(flags)
    mc = int(flags["num_channels"])
    if mult[0] != 1:
        raise ValueError(f"ADM flags: channel_mult must start with 1 to map onto UNet2DModel, got {mult}")
    chans = [int(m * mc) for m in mult]
    dims = {_head_dim(flags, c, up) for c, a in zip(chans, attn, strict=True) if a for up in (False, True)}
    dims.add(_head_dim(flags, chans[-1], False))
    if len(dims) != 1:
        raise ValueError(f"attention head widths differ between levels ({sorted(dims)}); UNet2DModel needs one")
    updown = bool(flags["resblock_updown"])
    plain_down, plain_up = _PLAIN_BLOCKS[updown]
    c = int(flags["in_channels"])
    return {
        "sample_size": int(flags["image_size"]),
        "in_channels": c,
        "out_channels": 2 * c if flags["learn_sigma"] else c,
        "block_out_channels": chans,
        "layers_per_block": int(flags["num_res_blocks"]),
        "down_block_types": ["AttnDownBlock2D" if a else plain_down for a in attn],
        "up_block_types": ["AttnUpBlock2D" if a else plain_up for a in reversed(attn)],
        "attention_head_dim": dims.pop(),
        "norm_num_groups": 32,
        "attn_norm_num_groups": 32,
        "norm_eps": 1e-5,
        "act_fn": "silu",
        "flip_sin_to_cos": True,
        "freq_shift": 0,
        "resnet_time_scale_shift": "scale_shift" if flags["use_scale_shift_norm"] else "default",
        "downsample_type": "resnet" if updown else "conv",
        "upsample_type": "resnet" if updown else "conv",
        "dropout": float(flags["dropout"]),
    }


def adm_schedule(flags: dict) -> Schedule:
    """guided-diffusion's schedule: linear betas (1e-4 .. 0.02) * 1000 / K, or the cosine schedule."""
    k, kind = int(flags["diffusion_steps"]), flags["noise_schedule"]
    if kind == "linear":
        return Schedule.linear(k, 1e-4 * 1000 / k, 0.02 * 1000 / k)
    if kind == "cosine":
        return Schedule.from_diffusers({"beta_schedule": "squaredcos_cap_v2", "num_train_timesteps": k})
    raise ValueError(f"unknown ADM noise_schedule {kind!r}; allowed: linear, cosine")


def _block_pairs(flags: dict) -> dict[str, tuple[str, str]]:
    """diffusers module prefix -> (ADM prefix, kind), kind in res | attn | same (identical suffixes)."""
    attn, updown, n = _attention_levels(flags), bool(flags["resblock_updown"]), int(flags["num_res_blocks"])
    levels = len(attn)
    pairs = {"conv_in": ("input_blocks.0.0", "same"), "conv_norm_out": ("out.0", "same"), "conv_out": ("out.2", "same")}
    pairs |= {"time_embedding.linear_1": ("time_embed.0", "same"), "time_embedding.linear_2": ("time_embed.2", "same")}
    idx = 1
    for level in range(levels):
        for j in range(n):
            pairs[f"down_blocks.{level}.resnets.{j}"] = (f"input_blocks.{idx}.0", "res")
            if attn[level]:
                pairs[f"down_blocks.{level}.attentions.{j}"] = (f"input_blocks.{idx}.1", "attn")
            idx += 1
        if level < levels - 1:  # a ResBlock(down=True), or a strided convolution
            if updown:
                pairs[f"down_blocks.{level}.downsamplers.0"] = (f"input_blocks.{idx}.0", "res")
            else:
                pairs[f"down_blocks.{level}.downsamplers.0.conv"] = (f"input_blocks.{idx}.0.op", "same")
            idx += 1
    pairs |= {"mid_block.resnets.0": ("middle_block.0", "res"), "mid_block.attentions.0": ("middle_block.1", "attn")}
    pairs["mid_block.resnets.1"] = ("middle_block.2", "res")
    idx = 0
    for up, level in enumerate(reversed(range(levels))):
        for j in range(n + 1):
            pairs[f"up_blocks.{up}.resnets.{j}"] = (f"output_blocks.{idx}.0", "res")
            k = 1
            if attn[level]:
                pairs[f"up_blocks.{up}.attentions.{j}"] = (f"output_blocks.{idx}.1", "attn")
                k = 2
            if level and j == n and updown:
                pairs[f"up_blocks.{up}.upsamplers.0"] = (f"output_blocks.{idx}.{k}", "res")
            elif level and j == n:
                pairs[f"up_blocks.{up}.upsamplers.0.conv"] = (f"output_blocks.{idx}.{k}.conv", "same")
            idx += 1
    return pairs


def _source(key: str, pairs: dict[str, tuple[str, str]]) -> tuple[str, str]:
    """(ADM key, how) for one diffusers key; how in copy | squeeze (1x1 conv -> linear) | q | k | v."""
    prefix = max((p for p in pairs if key.startswith(p + ".")), key=len)
    adm, kind = pairs[prefix]
    suffix = key[len(prefix) + 1 :]
    if kind == "same":
        return f"{adm}.{suffix}", "copy"
    module, param = suffix.rsplit(".", 1)
    if kind == "res":
        return f"{adm}.{_RES[module]}.{param}", "copy"
    if module == "group_norm":
        return f"{adm}.norm.{param}", "copy"
    if module == "to_out.0":
        return f"{adm}.proj_out.{param}", "squeeze"
    return f"{adm}.qkv.{param}", module[-1]  # to_q / to_k / to_v


def convert_adm_state_dict(state: dict[str, torch.Tensor], flags: dict, target_keys: list[str]) -> dict:
    """Map an ADM state dict onto the `UNet2DModel` keys `target_keys` (float32 tensors).

    Raises a ValueError naming the first missing and unexpected ADM keys, or a shape that does not fit.
    """
    pairs, head = _block_pairs(flags), int(adm_unet_config(flags)["attention_head_dim"])
    plan = {key: _source(key, pairs) for key in target_keys}
    expected = {src for src, _ in plan.values()}
    missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
    if missing or unexpected:
        raise ValueError(
            f"checkpoint keys do not match the ADM flags: {len(missing)} missing (first: {missing[:3]}), "
            f"{len(unexpected)} unexpected (first: {unexpected[:3]})"
        )
    out = {}
    new_order = bool(flags["use_new_attention_order"])
    for key, (src, how) in plan.items():
        w = state[src].float()
        if how == "squeeze":
            w = w.reshape(w.shape[0], -1) if w.ndim > 1 else w
        elif how in ("q", "k", "v"):
            # qkv rows: (3, heads, head) with the new attention order, (heads, 3, head) with the legacy one
            c, i = w.shape[0] // 3, "qkv".index(how)
            w = w.reshape(*((3, c // head, head) if new_order else (c // head, 3, head)), -1)
            w = (w[i] if new_order else w[:, i]).reshape(c, -1)
            w = w.squeeze(1) if state[src].ndim == 1 else w
        out[key] = w.contiguous()
    return out


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise FileNotFoundError(f"ADM checkpoint not found: {path}")
    state = load_plain_tensors(path, "tensor state dict")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} is not a plain state dict of tensors (found {type(state).__name__})")
    return state


def load_adm_prior(path: str | Path, flags: str | dict = "ffhq") -> ImagePrior:
    """An ADM .pt checkpoint as a frozen `ImagePrior` (epsilon; learned-sigma channels dropped).

    ADM's timestep j is our index j + 1 (abar_0 = 1 is prepended), hence timestep_offset = -1.
    """
    path, flags = Path(path), adm_flags(flags)
    config = adm_unet_config(flags)
    state = _read_state_dict(path)
    with torch.device("meta"):
        net = UNet2DModel(**config)
    try:
        converted = convert_adm_state_dict(state, flags, list(net.state_dict()))
        net.load_state_dict(converted, strict=True, assign=True)
    except RuntimeError as e:
        first = " ".join(str(e).strip().splitlines()[:2])[:300]
        raise ValueError(f"{path}: tensor shapes do not match the ADM flags ({first})") from None
    return ImagePrior(net, adm_schedule(flags), timestep_offset=-1, prediction="epsilon").eval().requires_grad_(False)


def load_adm_spec(rest: str) -> ImagePrior:
    """The prior of `adm:FILE[:PRESET|:FLAGS.json]` (rest = after 'adm:'); FILE alone uses the ffhq flags."""
    path, _, flags = rest.rpartition(":")
    if Path(rest).is_file() or not path:
        return load_adm_prior(rest, "ffhq")
    return load_adm_prior(path, flags)
