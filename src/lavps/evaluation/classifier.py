"""A small digit classifier for realism checks: does a restored (or generated) digit keep its label?

PSNR rewards blur; a classifier trained on the MNIST train split (never on the test digits the demo
restores) tells whether a sample still looks like the right digit. Shipped as
`assets/mnist32_classifier.safetensors` with a JSON card (data, steps, held-out accuracy).
"""

from __future__ import annotations

import time
from importlib import resources
from pathlib import Path

import torch
from torch import nn

from ..jsonfile import write_json
from ..priors.checkpoint import load_tensors, save_tensors

__all__ = [
    "DigitClassifier",
    "train_classifier",
    "save_classifier",
    "load_classifier",
    "default_classifier_path",
    "label_agreement",
]

KIND = "lavps.classifier/1"


class DigitClassifier(nn.Module):
    """Three conv blocks (16, 32, 64 channels, 3x3, ReLU, 2x2 max-pool) and a linear head: (B, 1, 32, 32)
    images in [-1, 1] -> (B, 10) logits."""

    def __init__(self):
        super().__init__()
        layers: list[nn.Module] = []
        width = 1
        for out in (16, 32, 64):
            layers += [nn.Conv2d(width, out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            width = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(64 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or tuple(x.shape[1:]) != (1, 32, 32):
            raise ValueError(f"DigitClassifier expects (B, 1, 32, 32) images, got {tuple(x.shape)}")
        return self.head(self.features(x).flatten(1))


def train_classifier(
    images: torch.Tensor, labels: torch.Tensor, epochs: int = 4, batch_size: int = 64, seed: int = 0
) -> tuple[DigitClassifier, dict]:
    """Adam (lr 1e-3) on cross-entropy, shuffled every epoch from `seed`; returns (network, stats)."""
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    net = DigitClassifier()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    start, steps, loss = time.time(), 0, torch.tensor(float("nan"))
    for _ in range(epochs):
        order = torch.randperm(len(images), generator=g)
        for i in range(0, len(images), batch_size):
            idx = order[i : i + batch_size]
            loss = nn.functional.cross_entropy(net(images[idx]), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            steps += 1
    net.eval()
    return net, {
        "epochs": epochs,
        "steps": steps,
        "batch_size": batch_size,
        "seed": seed,
        "final_loss": round(float(loss.detach()), 5),
        "seconds": round(time.time() - start, 1),
    }


def save_classifier(net: DigitClassifier, path: str | Path, card: dict) -> Path:
    path = Path(path)
    save_tensors(path, net.state_dict(), {"kind": KIND})
    write_json(path.with_suffix(".json"), card, sort_keys=True)
    return path


def default_classifier_path() -> Path:
    return Path(str(resources.files("lavps") / "assets" / "mnist32_classifier.safetensors"))


def load_classifier(path: str | Path | None = None) -> DigitClassifier:
    """The shipped classifier (or one saved by `save_classifier`), in eval mode; never runs code."""
    tensors, _ = load_tensors(path or default_classifier_path(), kind=KIND)
    net = DigitClassifier()
    try:
        net.load_state_dict(tensors)
    except RuntimeError as e:
        raise ValueError(f"{path}: not a DigitClassifier state ({str(e).splitlines()[0]})") from None
    return net.eval()


@torch.no_grad()
def label_agreement(net: DigitClassifier, images: torch.Tensor, labels: torch.Tensor, confidence: float = 0.0):
    """Per image: 1.0 if the predicted label equals `labels` with probability >= confidence, else 0.0."""
    prob = net(images.float().clamp(-1, 1)).softmax(1)
    p, pred = prob.max(1)
    return ((pred == labels) & (p >= confidence)).float()
