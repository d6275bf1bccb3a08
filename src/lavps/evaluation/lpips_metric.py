"""LPIPS (Zhang et al. 2018) through the `lpips` package, only where the user has it and its weights.

lavps downloads nothing: the `lpips` package (pip install lpips) brings its linear layers, but its AlexNet
trunk comes from torchvision's pretrained weights, which must already be in torch's hub cache. When any
piece is missing the metric is skipped and `LpipsMetric.reason` says why in one line.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

__all__ = ["LpipsMetric", "load_lpips", "ALEXNET_WEIGHTS"]

#: the file torchvision's `alexnet(pretrained=True)` reads from <torch hub dir>/checkpoints
ALEXNET_WEIGHTS = "alexnet-owt-7be5be79.pth"


@dataclass(frozen=True)
class LpipsMetric:
    """score(x, ref) -> (B,) LPIPS of images in [-1, 1] (grey images are repeated to RGB); None with the
    reason when it is not available."""

    score: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None
    reason: str = ""


def _missing() -> str:
    if importlib.util.find_spec("lpips") is None:
        return "the lpips package is not installed (pip install lpips)"
    if importlib.util.find_spec("torchvision") is None:
        return "the lpips package needs torchvision, which is not installed"
    cached = Path(torch.hub.get_dir()) / "checkpoints" / ALEXNET_WEIGHTS
    if not cached.is_file():
        return f"its AlexNet weights are not in torch's cache ({cached}); lavps downloads nothing"
    return ""


def load_lpips(device: torch.device | str = "cpu") -> LpipsMetric:
    """The LPIPS (AlexNet, v0.1) metric on `device`, or the reason it is skipped."""
    why = _missing()
    if why:
        return LpipsMetric(None, why)
    try:
        import lpips

        net = lpips.LPIPS(net="alex", verbose=False).eval().requires_grad_(False).to(device)
    except Exception as e:  # a broken install: report it, the other metrics still run
        return LpipsMetric(None, f"the lpips package failed to load ({type(e).__name__}: {e})")

    def score(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        x, ref = (t.to(device, torch.float32) for t in (x, ref))
        if x.shape[1] == 1:
            x, ref = x.repeat(1, 3, 1, 1), ref.repeat(1, 3, 1, 1)
        with torch.no_grad():
            return net(x, ref).flatten().cpu()

    return LpipsMetric(score)
