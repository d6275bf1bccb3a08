"""The resumable training loop shared by the amortizer and the supervised baseline.

A step function draws everything it needs from ONE seeded `torch.Generator` and returns the loss.
The loop owns AdamW, gradient clipping, the progress bar, the loss history and the checkpoints:
`<name>_checkpoint.safetensors` (weights, optimizer state, generator state, history) with a JSON
header, written every `ckpt_every` steps. Resuming restores all of it, so a resumed run takes exactly
the steps the uninterrupted run would have taken. No pickle anywhere.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from ..priors.checkpoint import load_tensors, save_tensors, write_json_atomic
from .checkpoint import AMORTIZER_KIND, SUPERVISED_KIND, load_state, save_network
from .network import build_network

__all__ = ["TrainResult", "StepFn", "run_training", "config_json"]

_CKPT_KIND = "lavps.train_checkpoint/1"
#: TrainConfig fields that may change when a run is resumed; every other one must match.
_RESUMABLE = {"steps", "ckpt_every", "out_dir"}
#: what run_training can train: file stem -> kind of the exported network file
KINDS = {"amortizer": AMORTIZER_KIND, "supervised": SUPERVISED_KIND}

#: step_fn(network, generator) -> (scalar loss to minimise, extra metrics for the history)
StepFn = Callable[[nn.Module, torch.Generator], tuple[torch.Tensor, dict[str, float]]]


@dataclass(frozen=True)
class TrainResult:
    """The trained network, its file, the per-step history ("loss", and e.g. "ratio") and the card."""

    path: Path
    network: nn.Module
    history: dict[str, list[float]]
    card: dict


@dataclass
class _State:
    net: nn.Module
    opt: torch.optim.Optimizer
    gen: torch.Generator
    step: int = 0
    wall_time: float = 0.0
    history: dict[str, list[float]] = field(default_factory=dict)


def config_json(config: Any) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def _new_state(config, network_config: dict) -> _State:
    with torch.random.fork_rng(devices=[]):  # seeded initial weights; the caller's global RNG untouched
        torch.manual_seed(config.seed)
        net = build_network(network_config)
    opt = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    return _State(net=net, opt=opt, gen=torch.Generator().manual_seed(config.seed))


def _save_checkpoint(path: Path, name: str, config, s: _State) -> None:
    tensors = {f"model.{k}": v for k, v in s.net.state_dict().items()}
    opt_sd = s.opt.state_dict()
    for i, st in opt_sd["state"].items():
        tensors |= {f"opt.{i}.{k}": torch.as_tensor(v) for k, v in st.items()}
    tensors["rng"] = s.gen.get_state()
    tensors |= {f"history.{k}": torch.tensor(v, dtype=torch.float64) for k, v in s.history.items()}
    header = {
        "kind": _CKPT_KIND,
        "name": name,
        "step": s.step,
        "config": config_json(config),
        "network": s.net.config,
        "info": s.net.info,
        "param_groups": [{k: v for k, v in g.items() if k != "params"} for g in opt_sd["param_groups"]],
        "wall_time": s.wall_time,
    }
    save_tensors(path, tensors, header)
    write_json_atomic(path.with_suffix(".json"), {k: v for k, v in header.items() if k != "param_groups"})


def _load_checkpoint(path: Path, name: str, config, network_config: dict, info: dict) -> _State:
    tensors, header = load_tensors(path, kind=_CKPT_KIND)
    saved, wanted = header.get("config", {}), config_json(config)
    diff = [
        f"{k}: checkpoint {saved.get(k)!r} vs now {v!r}"
        for k, v in wanted.items()
        if k not in _RESUMABLE and saved.get(k) != v
    ]
    stable = {k: v for k, v in info.items() if k != "training"}  # training settings: compared above
    saved_info = {k: v for k, v in (header.get("info") or {}).items() if k != "training"}
    for key, now, then in (
        ("name", name, header.get("name")),
        ("network", network_config, header.get("network")),
        ("info", stable, saved_info),
    ):
        if then != now:
            diff.append(f"{key}: checkpoint {then!r} vs now {now!r}")
    if diff:
        raise ValueError(f"cannot resume from {path}: settings differ ({'; '.join(diff)})")
    s = _new_state(config, network_config)
    load_state(s.net, {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, path)
    state: dict[int, dict] = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, i, key = k.split(".", 2)
            state.setdefault(int(i), {})[key] = v
    params = list(range(len(list(s.net.parameters()))))
    groups = [dict(g, params=params) for g in header["param_groups"]]
    s.opt.load_state_dict({"state": state, "param_groups": groups})
    s.gen.set_state(tensors["rng"])
    s.step, s.wall_time = int(header["step"]), float(header["wall_time"])
    s.history = {k[8:]: v.tolist() for k, v in tensors.items() if k.startswith("history.")}
    return s


def run_training(
    config,
    network_config: dict,
    step_fn: StepFn,
    name: str,
    info: dict,
    progress: bool = True,
    resume: bool = False,
) -> TrainResult:
    """Train a network built from `network_config` with `step_fn`; write `<name>.safetensors` + card.

    Args:
        config: a TrainConfig (steps, lr, weight_decay, grad_clip, seed, ckpt_every, out_dir, ...).
        network_config: JSON config of the network (`arch` picks the class).
        step_fn: one training step's loss (see `StepFn`).
        name: what is trained and the file stem in config.out_dir: "amortizer" or "supervised".
        info: provenance attached to the network and checked on resume (prior, family, window).
        resume: continue `<name>_checkpoint.safetensors` in out_dir (an error if there is none);
            without it an existing checkpoint is an error, so no run is overwritten by accident.
    """
    if name not in KINDS:
        raise ValueError(f"unknown network kind {name!r}; allowed: {', '.join(KINDS)}")
    network_config, info = json.loads(json.dumps(network_config)), json.loads(json.dumps(info))  # as saved
    out = Path(config.out_dir)
    ckpt = out / f"{name}_checkpoint.safetensors"
    if ckpt.exists() and not resume:
        raise ValueError(f"{ckpt} exists; resume it (--resume) or choose another output folder")
    if resume and not ckpt.exists():
        raise FileNotFoundError(f"cannot resume: no checkpoint {ckpt} (drop --resume to start a new run)")
    s = _load_checkpoint(ckpt, name, config, network_config, info) if resume else None
    if s is None:
        s = _new_state(config, network_config)
    s.net.info = info
    s.net.train()
    avg: dict[str, float] = {}
    bar = tqdm(total=config.steps, initial=min(s.step, config.steps), disable=not progress, desc=f"train {name}")
    while s.step < config.steps:
        start = time.perf_counter()
        loss, metrics = step_fn(s.net, s.gen)
        s.opt.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(s.net.parameters(), config.grad_clip)
        s.opt.step()
        s.step += 1
        s.wall_time += time.perf_counter() - start
        for k, v in {"loss": float(loss.detach()), **metrics}.items():
            s.history.setdefault(k, []).append(v)
            avg[k] = v if k not in avg else 0.98 * avg[k] + 0.02 * v
        if not math.isfinite(s.history["loss"][-1]):
            raise RuntimeError(f"training diverged at step {s.step} (loss {s.history['loss'][-1]}); lower --lr")
        bar.update(1)
        bar.set_postfix({k: f"{v:.4g}" for k, v in avg.items()}, refresh=False)
        if s.step % config.ckpt_every == 0 or s.step == config.steps:
            _save_checkpoint(ckpt, name, config, s)
    bar.close()
    return _export(out / f"{name}.safetensors", name, config, s)


def _export(path: Path, name: str, config, s: _State) -> TrainResult:
    net = s.net.eval().requires_grad_(False)
    tail = {k: sum(v[-100:]) / max(len(v[-100:]), 1) for k, v in s.history.items()}
    card = {
        "what": name,
        "network": net.config,
        "num_parameters": sum(p.numel() for p in net.parameters()),
        **net.info,
        "steps": s.step,
        "wall_time_s": round(s.wall_time, 1),
        "seconds_per_step": round(s.wall_time / max(s.step, 1), 5),
        "final": {k: round(v, 5) for k, v in tail.items()},
        "final_note": "means over the last 100 training steps",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "versions": {"torch": torch.__version__},
    }
    save_network(net, path, KINDS[name], card)
    return TrainResult(path=path, network=net, history=s.history, card=card)
