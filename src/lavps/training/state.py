"""The resumable state of a training run and its checkpoint file (safetensors + JSON header, no pickle).

A checkpoint restores weights, EMA, optimizer, history, counters and the early-stopping state, so a
resumed run takes exactly the steps of the uninterrupted one (`lavps.training.loop`).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..jsonfile import write_json
from ..priors.checkpoint import load_tensors, save_tensors

__all__ = ["CHECKPOINT_KIND", "LoopState", "config_json", "save_state", "restore_state"]

CHECKPOINT_KIND = "lavps.train_checkpoint/2"


@dataclass
class LoopState:
    net: nn.Module
    opt: torch.optim.Optimizer
    ema: dict[str, torch.Tensor] | None
    step: int = 0
    wall_time: float = 0.0
    history: dict[str, list[float]] = field(default_factory=dict)
    loss_avg: float = 0.0  # bias-corrected moving average (0.98) of the loss
    loss_weight: float = 0.0
    best: float = math.inf  # early stopping: best monitored validation value and validations since
    bad_validations: int = 0
    stopped_early: bool = False
    last_validation: dict[str, float] = field(default_factory=dict)


def config_json(config: Any) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}


def save_state(path: Path, identity: dict, settings, s: LoopState) -> None:
    """Write the run's state (weights, EMA, optimizer, history, counters) and its identity, atomically."""
    tensors = {f"model.{k}": v for k, v in s.net.state_dict().items()}
    if s.ema is not None:
        tensors |= {f"ema.{k}": v for k, v in s.ema.items()}
    opt_sd = s.opt.state_dict()
    for i, st in opt_sd["state"].items():
        tensors |= {f"opt.{i}.{k}": torch.as_tensor(v) for k, v in st.items()}
    tensors |= {f"history.{k}": torch.tensor(v, dtype=torch.float64) for k, v in s.history.items()}
    header = {
        "kind": CHECKPOINT_KIND,
        **identity,
        "loop": config_json(settings),
        "step": s.step,
        "param_groups": [{k: v for k, v in g.items() if k != "params"} for g in opt_sd["param_groups"]],
        "wall_time": s.wall_time,
        "loss_avg": s.loss_avg,
        "loss_weight": s.loss_weight,
        "early_stopping": {
            "best": s.best if math.isfinite(s.best) else None,
            "bad_validations": s.bad_validations,
            "stopped": s.stopped_early,
            "last": s.last_validation,
        },
    }
    save_tensors(path, tensors, header)  # temp file then os.replace
    write_json(path.with_suffix(".json"), {k: v for k, v in header.items() if k != "param_groups"}, sort_keys=True)


def _differences(key: str, then, now) -> list[str]:
    """`key: checkpoint A vs now B` for each differing leaf of two records (nested dicts by dotted key; long
    values cut), so that a refused resume names what changed instead of dumping both records."""
    if isinstance(then, dict) and isinstance(now, dict):
        return [d for k in dict.fromkeys([*then, *now]) for d in _differences(f"{key}.{k}", then.get(k), now.get(k))]
    if then == now:
        return []

    def cut(value) -> str:
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "..."

    return [f"{key}: checkpoint {cut(then)} vs now {cut(now)}"]


def restore_state(path: Path, settings, identity: dict, resumable: set[str], s: LoopState) -> LoopState:
    """Fill the fresh state `s` from the checkpoint at `path`; ValueError if the run's identity differs."""
    tensors, header = load_tensors(path, kind=CHECKPOINT_KIND)
    diff = []
    # a setting added since the checkpoint was written matches when it has its default value
    defaults = {f.name: f.default for f in dataclasses.fields(settings)}
    for key, now in identity.items():
        then = header.get(key)
        if key == "config" and isinstance(now, dict) and isinstance(then, dict):
            diff += [
                f"{k}: checkpoint {then.get(k)!r} vs now {v!r}"
                for k, v in now.items()
                if k not in resumable and then.get(k, defaults.get(k)) != v
            ]
        elif then != now:
            diff += _differences(key, then, now)
    if diff:
        raise ValueError(f"cannot resume from {path}: settings differ ({'; '.join(diff)})")
    _load_module(s.net, {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, path)
    if s.ema is not None:
        s.ema = {k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}
    state: dict[int, dict] = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, i, key = k.split(".", 2)
            state.setdefault(int(i), {})[key] = v
    params = list(range(len(list(s.net.parameters()))))
    s.opt.load_state_dict({"state": state, "param_groups": [dict(g, params=params) for g in header["param_groups"]]})
    s.step, s.wall_time = int(header["step"]), float(header["wall_time"])
    s.loss_avg, s.loss_weight = float(header["loss_avg"]), float(header["loss_weight"])
    s.history = {k[8:]: v.tolist() for k, v in tensors.items() if k.startswith("history.")}
    early = header.get("early_stopping") or {}
    s.best = math.inf if early.get("best") is None else float(early["best"])
    s.bad_validations, s.stopped_early = int(early.get("bad_validations", 0)), bool(early.get("stopped", False))
    s.last_validation = dict(early.get("last") or {})
    return s


def _load_module(net: nn.Module, tensors: dict[str, torch.Tensor], path: Path) -> None:
    own = net.state_dict()
    if set(own) != set(tensors) or any(tuple(own[k].shape) != tuple(tensors[k].shape) for k in own):
        raise ValueError(f"{path}: weights do not match the network described in its header")
    net.load_state_dict(tensors)
