"""LAVPS amortization networks: the inference network f_phi (MLP for vectors, small UNet for images), the
supervised baseline's conditional denoiser, and their checkpoints. Their training is `lavps.training`
(`train_amortizer`, `train_supervised`); this package sits below the samplers that use the networks."""

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
from .denoiser import ConditionalDenoiser
from .mlp import MLPAmortizer, MLPConditionalDenoiser
from .network import (
    ARCHITECTURES,
    INPUT_KINDS,
    Amortizer,
    Network,
    amortizer_inputs,
    build_network,
    check_compatible,
    register_architecture,
    time_code,
)

__all__ = [
    "AMORTIZER_KIND",
    "SUPERVISED_KIND",
    "ARCHITECTURES",
    "INPUT_KINDS",
    "Network",
    "Amortizer",
    "MLPAmortizer",
    "ConditionalDenoiser",
    "MLPConditionalDenoiser",
    "amortizer_inputs",
    "build_network",
    "check_compatible",
    "load_amortizer",
    "load_network",
    "load_supervised",
    "register_architecture",
    "save_amortizer",
    "save_network",
    "save_supervised",
    "time_code",
]

# The image architectures (unet, hdit) register themselves when a config first names them (network.py).
