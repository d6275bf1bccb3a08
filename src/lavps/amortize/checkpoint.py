"""Checkpoints of trained networks (amortizers, supervised conditional denoisers).

A checkpoint is a safetensors file: the weights, plus a JSON header in the metadata holding the
network `config` (arch, shape, sizes, input kind: enough to rebuild it) and its `info` (the prior's
description and fingerprint, the window, the training settings). A human-readable JSON card is
written beside it (`<stem>.json`). Loading never executes code; a missing, corrupt or mismatching
file raises FileNotFoundError / ValueError naming the file.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..jsonfile import write_json
from ..priors.checkpoint import load_tensors, save_tensors
from .network import build_network, check_compatible

__all__ = [
    "AMORTIZER_KIND",
    "SUPERVISED_KIND",
    "save_network",
    "load_network",
    "load_state",
    "save_amortizer",
    "load_amortizer",
    "save_supervised",
    "load_supervised",
]

AMORTIZER_KIND = "lavps.amortizer/1"
SUPERVISED_KIND = "lavps.supervised/1"


def save_network(net: nn.Module, path: str | Path, kind: str, card: dict | None = None) -> Path:
    """Write net's weights with {kind, config, info} in the metadata, and a JSON card beside it."""
    path = Path(path)
    header = {"kind": kind, "config": net.config, "info": getattr(net, "info", {})}
    save_tensors(path, net.state_dict(), header)
    write_json(path.with_suffix(".json"), card if card is not None else header, sort_keys=True)
    return path


def load_state(net: nn.Module, tensors: dict[str, torch.Tensor], path: Path | str) -> None:
    """load_state_dict with an error naming the file when keys or shapes do not match."""
    own = net.state_dict()
    missing = sorted(set(own) - set(tensors))
    extra = sorted(set(tensors) - set(own))
    bad = sorted(k for k in set(own) & set(tensors) if tuple(own[k].shape) != tuple(tensors[k].shape))
    if missing or extra or bad:
        raise ValueError(
            f"{path}: weights do not match the network described in its metadata "
            f"(missing {missing[:3]}, unexpected {extra[:3]}, wrong shape {bad[:3]})"
        )
    net.load_state_dict(tensors)


def load_network(path: str | Path, kind: str, prior=None) -> nn.Module:
    """Rebuild and load a network saved by `save_network`; checks it against `prior` when given.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a lavps file of this kind, corrupt metadata or weights, or made for another
            prior (shape or fingerprint).
    """
    path = Path(path)
    tensors, header = load_tensors(path, kind=kind)
    config, info = header.get("config"), header.get("info", {})
    if not isinstance(config, dict) or not isinstance(info, dict):
        raise ValueError(f"{path}: metadata lacks a network config")
    try:
        net = build_network(config)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    load_state(net, tensors, path)
    net.info = info
    if prior is not None:
        try:
            check_compatible(net, prior, source=str(path))
        except ValueError as e:
            raise ValueError(f"checkpoint does not match the prior: {e}") from None
    return net.eval().requires_grad_(False)


def save_amortizer(amortizer: nn.Module, path: str | Path, card: dict | None = None) -> Path:
    return save_network(amortizer, path, AMORTIZER_KIND, card)


def load_amortizer(path: str | Path, prior=None) -> nn.Module:
    """A trained amortizer (frozen, eval mode); checked against `prior` when given."""
    return load_network(path, AMORTIZER_KIND, prior)


def save_supervised(network: nn.Module, path: str | Path, card: dict | None = None) -> Path:
    return save_network(network, path, SUPERVISED_KIND, card)


def load_supervised(path: str | Path, prior=None) -> nn.Module:
    """A trained supervised conditional denoiser (frozen, eval mode); checked against `prior` when given."""
    return load_network(path, SUPERVISED_KIND, prior)
