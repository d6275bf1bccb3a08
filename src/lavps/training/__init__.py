"""Training of the project's own networks: the shared loop (DDP, bf16, accumulation, checkpoints), the
small image diffusion prior, and the amortization networks (`train_network` with the amortized or the
supervised loss). Names are imported lazily so that `lavps.training.loop` stays light."""

from __future__ import annotations

from ..lazy import lazy_attributes

__all__ = [
    "TrainConfig",
    "TrainResult",
    "NetworkLoss",
    "train_network",
    "AMORTIZED",
    "amortized_loss",
    "train_amortizer",
    "SUPERVISED",
    "supervised_loss",
    "train_supervised",
    "resolve_family",
    "family_description",
    "estimate_signal_scale",
    "draw_training_problem",
    "PriorTrainConfig",
    "PriorTrainResult",
    "export_prior",
    "train_prior",
    "sample_unconditional",
    "save_image_grid",
]

_WHERE = {
    "TrainConfig": "networks",
    "TrainResult": "networks",
    "NetworkLoss": "networks",
    "train_network": "networks",
    "AMORTIZED": "amortizer",
    "amortized_loss": "amortizer",
    "train_amortizer": "amortizer",
    "SUPERVISED": "supervised",
    "supervised_loss": "supervised",
    "train_supervised": "supervised",
    "resolve_family": "problems",
    "family_description": "problems",
    "estimate_signal_scale": "problems",
    "draw_training_problem": "problems",
    "PriorTrainConfig": "prior",
    "PriorTrainResult": "prior",
    "export_prior": "prior",
    "train_prior": "prior",
    "sample_unconditional": "samples",
    "save_image_grid": "samples",
}


__getattr__ = lazy_attributes(__name__, _WHERE)
