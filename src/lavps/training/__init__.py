"""Training of the project's own networks: the shared loop (DDP, bf16, accumulation, checkpoints) and the
small image diffusion prior. Names are imported lazily so that `lavps.training.loop` stays light."""

from __future__ import annotations

import importlib

__all__ = [
    "PriorTrainConfig",
    "PriorTrainResult",
    "export_prior",
    "train_prior",
    "sample_unconditional",
    "save_image_grid",
]

_WHERE = {
    "PriorTrainConfig": "prior",
    "PriorTrainResult": "prior",
    "export_prior": "prior",
    "train_prior": "prior",
    "sample_unconditional": "samples",
    "save_image_grid": "samples",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
