"""The hourglass diffusion transformer (HDiT) priors of the LAVPS paper, in plain PyTorch (no NATTEN).

`config` (presets, JSON), `layers` / `blocks` / `neighborhood` (the network's pieces), `model` (the network
and its EDM-preconditioned denoiser), `loader` (published checkpoints as priors: `hdit:FILE[:PRESET]`).
"""

from .config import HDIT_PRESETS, HDiTConfig, hdit_config
from .loader import load_hdit_prior
from .model import HDiT, HDiTDenoiser

__all__ = ["HDIT_PRESETS", "HDiTConfig", "hdit_config", "HDiT", "HDiTDenoiser", "load_hdit_prior"]
