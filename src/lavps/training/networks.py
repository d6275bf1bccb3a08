"""Training of the amortization networks (the LAVPS amortizer, the supervised baseline's conditional
denoiser): ONE entry point, `train_network`, which takes the loss (`lavps.training.amortizer.AMORTIZED`,
`lavps.training.supervised.SUPERVISED`).

A loss turns one chunk (its seeded generator, its size, and its clean images when the run reads an image
folder) into a scalar. The loop (`lavps.training.loop`) owns AdamW, DDP, bf16, gradient accumulation, the
progress bar, validation, the history and the checkpoints (`<name>_checkpoint.safetensors`); this module
adds the network's construction, fine-tuning from a parent file, and the exported file + card. No pickle.
"""

from __future__ import annotations

import datetime
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..amortize.checkpoint import AMORTIZER_KIND, SUPERVISED_KIND, load_network, save_network
from ..amortize.network import build_network
from ..distributed import current_world
from ..operators import GaussianNoise, OperatorFamily
from ..priors.specs import PriorPreset, prior_fingerprint
from .loop import DataFactory, LoopSettings, LoopState, Validation, config_json, run_loop
from .problems import family_description

__all__ = ["TrainConfig", "TrainResult", "NetworkLoss", "LossFn", "train_network", "KINDS"]

#: TrainConfig fields that may change when a run is resumed; every other one must match.
_RESUMABLE = {"steps", "ckpt_every", "out_dir", "val_every", "patience"}
#: what train_network can train: file stem -> kind of the exported network file
KINDS = {"amortizer": AMORTIZER_KIND, "supervised": SUPERVISED_KIND}


@dataclass(frozen=True)
class TrainConfig(LoopSettings):
    """Settings of one network training run (amortizer or supervised baseline; all end up in the card).

    The optimisation block (steps, batch_size, lr, weight_decay, grad_clip, seed, micro_batches, warmup,
    ema_decay, precision, ckpt_every, val_every, patience) is `lavps.training.loop.LoopSettings`'s.

    Attributes:
        grid_steps, window: the sampling grid size N and the window: k ~ U{1..window}, tau = T_k,
            t = T_{k+1} (the iterations LAVPS amortizes are the last `window` of MGDM's N - 3).
        sigma, sigma_max: observation noise; with sigma_max, one sigma_y per chunk, log-uniform in
            [sigma, sigma_max].
        out_dir: where the checkpoint, the network file and its card go.
        init_from: fine-tune the weights of this file (same network config; it may have been trained on
            another prior, e.g. the previous version of a prior) instead of fresh weights.
        calibration_weight: lambda of the amortizer's forward-KL term (`lavps.objective.bridge_sample_nll`);
            0: the negative ELBO alone.
    """

    steps: int = 3000
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4
    ckpt_every: int = 500
    grid_steps: int = 100
    window: int = 30
    sigma: float = 1.0
    sigma_max: float | None = None
    out_dir: str = "runs/amortizer"
    init_from: str | None = None  # fine-tuning: start from this network file (same architecture)
    calibration_weight: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.window <= self.grid_steps - 3:
            raise ValueError(f"window must be in [1, grid_steps - 3 = {self.grid_steps - 3}], got {self.window}")
        GaussianNoise(self.sigma)  # validates sigma > 0
        if not (math.isfinite(self.calibration_weight) and self.calibration_weight >= 0):
            raise ValueError(f"calibration_weight must be finite and >= 0, got {self.calibration_weight}")
        if self.sigma_max is not None and not self.sigma_max >= self.sigma:
            raise ValueError(f"sigma_max must be >= sigma = {self.sigma}, got {self.sigma_max}")

    def draw_sigma(self, generator: torch.Generator) -> float:
        if self.sigma_max is None:
            return float(self.sigma)
        u = float(torch.rand((), generator=generator, dtype=torch.float64))
        return math.exp(math.log(self.sigma) + u * (math.log(self.sigma_max) - math.log(self.sigma)))


#: loss(network, generator, config, preset, family, batch size, clean images or None) -> (mean loss, metrics)
LossFn = Callable[
    [nn.Module, torch.Generator, TrainConfig, PriorPreset, OperatorFamily, "int | None", "torch.Tensor | None"],
    tuple[torch.Tensor, dict[str, float]],
]


@dataclass(frozen=True)
class NetworkLoss:
    """What a network run minimises, and how the run and its file are named and described.

    Attributes:
        name: the file stem in out_dir and what is trained: "amortizer" or "supervised" (see KINDS).
        objective: the loss as the card describes it.
        fn: one chunk's loss (see LossFn).
        times: config -> the card's description of the training times (grid, window).
    """

    name: str
    objective: str
    fn: LossFn
    times: Callable[[TrainConfig], dict]


@dataclass(frozen=True)
class TrainResult:
    """The trained network, its file, the per-step history ("loss", and e.g. "ratio") and the card."""

    path: Path
    network: nn.Module
    history: dict[str, list[float]]
    card: dict


def train_network(
    config: TrainConfig,
    network_config: dict,
    preset: PriorPreset,
    family: OperatorFamily,
    loss: NetworkLoss,
    progress: bool = True,
    resume: bool = False,
    data: DataFactory | None = None,
    validation: Validation | None = None,
) -> TrainResult | None:
    """Train a network built from `network_config` on `loss`; writes `<loss.name>.safetensors` + card in out_dir.

    Args:
        config: training settings.
        network_config: e.g. `MLPAmortizer(d, hidden, depth, input_kind, signal_scale).config`; the
            network is built from it with weights seeded by config.seed.
        preset: the prior and its clean training signals (`lavps.priors.specs.resolve_prior`).
        family: the operator family of the training problems (the in-distribution family).
        loss: what is minimised (`AMORTIZED`, `SUPERVISED`).
        resume: continue `<name>_checkpoint.safetensors` in out_dir (an error if there is none);
            without it an existing checkpoint is an error, so no run is overwritten by accident.
        data: clean images per chunk (`lavps.data.folder.FolderData`); None: drawn from the preset.
        validation: see `lavps.training.loop.run_loop`; its rows go to `<name>_metrics.jsonl`.

    Returns:
        The result on rank 0; None on the other ranks of a distributed run.
    """
    name = loss.name
    if name not in KINDS:
        raise ValueError(f"unknown network kind {name!r}; allowed: {', '.join(KINDS)}")
    if tuple(network_config.get("shape", ())) != tuple(preset.prior.shape):
        raise ValueError(
            f"network shape {network_config.get('shape')} does not match the prior's {list(preset.prior.shape)}"
        )
    # every trained network names its prior's fingerprint, so a restore with another prior is refused (a network
    # prior's preset leaves the hashing to training: seconds for a large network, paid once here)
    prior = preset.description | {
        "fingerprint": preset.description.get("fingerprint") or prior_fingerprint(preset.prior)
    }
    info = {
        "prior": prior,
        "family": family_description(family),
        **loss.times(config),
        "training": {"objective": loss.objective, **config_json(config)},
    }
    if data is not None:
        info["data"] = getattr(data, "description", {"source": "image folder"})
    parent = None
    if config.init_from is not None:  # fine-tuning: the parent's weights start the run, its provenance joins the card
        parent, described = _parent(config.init_from, name, network_config)
        info = {**info, "fine_tuned_from": described}
    out = Path(config.out_dir)
    stable = {k: v for k, v in info.items() if k != "training"}  # training settings: compared via config
    identity = {"name": name, "config": config_json(config), "network": network_config, "info": stable}

    def step(net, chunk):
        return loss.fn(net, chunk.generator, config, preset, family, chunk.size, chunk.data)

    state = run_loop(
        config,
        lambda: _initial_network(network_config, parent),
        step,
        out / f"{name}_checkpoint.safetensors",
        identity,
        resumable=_RESUMABLE,
        resume=resume,
        progress=progress,
        data=data,
        validation=validation,
        metrics_path=out / f"{name}_metrics.jsonl",
    )
    if not current_world().is_main:
        return None
    state.net.info = json.loads(json.dumps(info))
    return _export(out / f"{name}.safetensors", name, state)


def _parent(path: str, name: str, network_config: dict) -> tuple[nn.Module, dict]:
    """The network a fine-tuning run starts from, and its description: the file, its prior, its steps."""
    parent = load_network(path, KINDS[name])
    if json.loads(json.dumps(parent.config)) != json.loads(json.dumps(network_config)):
        raise ValueError(
            f"--init-from {path}: its network {parent.config} does not match the configured one {network_config}"
        )
    card_path = Path(path).with_suffix(".json")
    card = json.loads(card_path.read_text()) if card_path.is_file() else {}
    return parent, {
        "path": str(path),
        "prior_fingerprint": (parent.info.get("prior") or {}).get("fingerprint"),
        "steps": card.get("total_steps", card.get("steps")),
        "date": card.get("date"),
    }


def _initial_network(network_config: dict, parent: nn.Module | None) -> nn.Module:
    net = build_network(network_config)
    if parent is not None:
        net.load_state_dict(parent.state_dict())
    return net


def _total_steps(info: dict, steps: int) -> dict:
    parent_steps = (info.get("fine_tuned_from") or {}).get("steps")
    return {"total_steps": parent_steps + steps} if isinstance(parent_steps, int) else {}


def _export(path: Path, name: str, s: LoopState) -> TrainResult:
    net = s.net.eval().requires_grad_(False)
    tail = {k: sum(v[-100:]) / max(len(v[-100:]), 1) for k, v in s.history.items()}
    card = {
        "what": name,
        "network": net.config,
        "num_parameters": sum(p.numel() for p in net.parameters()),
        **net.info,
        "steps": s.step,
        **_total_steps(net.info, s.step),
        "wall_time_s": round(s.wall_time, 1),
        "seconds_per_step": round(s.wall_time / max(s.step, 1), 5),
        "final": {k: round(v, 5) for k, v in tail.items()},
        "final_note": "means over the last 100 training steps",
        # the weights are the last step's: after an early stop, `patience` validations past the best value
        "validation": {"last": s.last_validation, "best": s.best, "stopped_early": s.stopped_early},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": {"torch": torch.__version__},
    }
    save_network(net, path, KINDS[name], card)
    return TrainResult(path=path, network=net, history=s.history, card=card)
