"""LAVPS amortization: the inference network f_phi, its training (amortized VI), checkpoints, and the
supervised conditional-denoiser baseline."""

from .checkpoint import (
    AMORTIZER_KIND,
    SUPERVISED_KIND,
    load_amortizer,
    load_network,
    load_supervised,
    save_amortizer,
    save_network,
    save_supervised,
)
from .loop import TrainResult, run_training
from .network import (
    ARCHITECTURES,
    INPUT_KINDS,
    Amortizer,
    MLPAmortizer,
    amortizer_inputs,
    build_network,
    check_compatible,
    register_architecture,
    time_code,
)
from .supervised import ConditionalDenoiser, MLPConditionalDenoiser, supervised_loss, train_supervised
from .training import (
    TrainConfig,
    amortized_loss,
    estimate_signal_scale,
    family_description,
    resolve_family,
    train_amortizer,
)

__all__ = [
    "AMORTIZER_KIND",
    "SUPERVISED_KIND",
    "ARCHITECTURES",
    "INPUT_KINDS",
    "Amortizer",
    "MLPAmortizer",
    "ConditionalDenoiser",
    "MLPConditionalDenoiser",
    "TrainConfig",
    "TrainResult",
    "amortizer_inputs",
    "amortized_loss",
    "build_network",
    "check_compatible",
    "estimate_signal_scale",
    "family_description",
    "load_amortizer",
    "load_network",
    "load_supervised",
    "register_architecture",
    "resolve_family",
    "run_training",
    "save_amortizer",
    "save_network",
    "save_supervised",
    "supervised_loss",
    "time_code",
    "train_amortizer",
    "train_supervised",
]

from . import hdit as _hdit  # noqa: E402,F401  (registers the "hdit" architecture for loading)
from . import unet as _unet  # noqa: E402,F401  (registers the "unet" architecture for loading)
