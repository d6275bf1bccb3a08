"""Training of the amortizer and the supervised baseline on the shared loop (`lavps.training.loop`).

A step function turns one chunk (its seeded generator, its size, and its data items when the run
reads an image folder) into a loss. The loop owns AdamW, DDP, bf16, gradient accumulation, the
progress bar, validation, the history and the checkpoints (`<name>_checkpoint.safetensors`); this
module adds the network's construction and the exported file + card. No pickle anywhere.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..distributed import current_world
from ..training.loop import DataFactory, LoopSettings, LoopState, StepFn, Validation, config_json, run_loop
from .checkpoint import AMORTIZER_KIND, SUPERVISED_KIND, load_network, save_network
from .network import build_network

__all__ = ["TrainResult", "StepFn", "run_training", "config_json"]

#: TrainConfig fields that may change when a run is resumed; every other one must match.
_RESUMABLE = {"steps", "ckpt_every", "out_dir", "val_every", "patience"}
#: what run_training can train: file stem -> kind of the exported network file
KINDS = {"amortizer": AMORTIZER_KIND, "supervised": SUPERVISED_KIND}


@dataclass(frozen=True)
class TrainResult:
    """The trained network, its file, the per-step history ("loss", and e.g. "ratio") and the card."""

    path: Path
    network: nn.Module
    history: dict[str, list[float]]
    card: dict


def run_training(
    config,
    network_config: dict,
    step_fn: StepFn,
    name: str,
    info: dict,
    progress: bool = True,
    resume: bool = False,
    data: DataFactory | None = None,
    validation: Validation | None = None,
) -> TrainResult | None:
    """Train a network built from `network_config` with `step_fn`; write `<name>.safetensors` + card.

    Args:
        config: a TrainConfig (steps, batch_size, micro_batches, precision, lr, seed, ckpt_every, out_dir, ...).
        network_config: JSON config of the network (`arch` picks the class).
        step_fn: one chunk's loss (see `lavps.training.loop.StepFn`).
        name: what is trained and the file stem in config.out_dir: "amortizer" or "supervised".
        info: provenance attached to the network and checked on resume (prior, family, window).
        resume: continue `<name>_checkpoint.safetensors` in out_dir (an error if there is none);
            without it an existing checkpoint is an error, so no run is overwritten by accident.
        data, validation: see `lavps.training.loop.run_loop`; validation rows go to `<name>_metrics.jsonl`.

    Returns:
        The result on rank 0; None on the other ranks of a distributed run.
    """
    if name not in KINDS:
        raise ValueError(f"unknown network kind {name!r}; allowed: {', '.join(KINDS)}")
    init_from = getattr(config, "init_from", None)
    parent = None
    if init_from is not None:  # fine-tuning: the parent's weights start the run, its provenance joins the card
        parent, described = _parent(init_from, name, network_config)
        info = {**info, "fine_tuned_from": described}
    out = Path(config.out_dir)
    stable = {k: v for k, v in info.items() if k != "training"}  # training settings: compared via config
    identity = {"name": name, "config": config_json(config), "network": network_config, "info": stable}
    settings = LoopSettings(
        steps=config.steps,
        batch_size=config.batch_size,
        lr=config.lr,
        weight_decay=config.weight_decay,
        grad_clip=config.grad_clip,
        seed=config.seed,
        micro_batches=config.micro_batches,
        precision=config.precision,
        ckpt_every=config.ckpt_every,
        val_every=config.val_every,
        patience=config.patience,
    )
    state = run_loop(
        settings,
        lambda: _initial_network(network_config, parent),
        step_fn,
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
        "validation": {"last": s.last_validation, "stopped_early": s.stopped_early},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": {"torch": torch.__version__},
    }
    save_network(net, path, KINDS[name], card)
    return TrainResult(path=path, network=net, history=s.history, card=card)
