"""Training of the project's own networks: the small image diffusion prior."""

from .prior import PriorTrainConfig, PriorTrainResult, export_prior, train_prior
from .samples import sample_unconditional, save_image_grid

__all__ = [
    "PriorTrainConfig",
    "PriorTrainResult",
    "export_prior",
    "train_prior",
    "sample_unconditional",
    "save_image_grid",
]
