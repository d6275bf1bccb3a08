"""The MLP networks on flat vectors: the amortizer f_phi and the supervised baseline's conditional denoiser.

Both take scaled signals (divided by `signal_scale`, about the data's root mean square), an observation
feature and log time codes, and share their config (validated), their construction from it and the MLP.
"""

from __future__ import annotations

import torch
from torch import nn

from .denoiser import ConditionalDenoiser
from .network import Amortizer, bridge_std, observation_feature, register_architecture

__all__ = ["MLPAmortizer", "MLPConditionalDenoiser", "VectorMLP", "mlp"]


def mlp(inputs: int, hidden: int, depth: int, outputs: int) -> nn.Sequential:
    """SiLU MLP with `depth` hidden layers and a zero-initialised output layer."""
    if hidden < 1 or depth < 1:
        raise ValueError(f"need hidden >= 1 and depth >= 1, got hidden={hidden}, depth={depth}")
    layers: list[nn.Module] = []
    width = inputs
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.SiLU()]
        width = hidden
    out = nn.Linear(width, outputs)
    nn.init.zeros_(out.weight)
    nn.init.zeros_(out.bias)
    return nn.Sequential(*layers, out)


class VectorMLP:
    """Mixin of the MLP networks on (B, dim) vectors: one config, one rebuild from it, one MLP.

    A subclass (also a `lavps.amortize.network.Network`) calls `self._build(...)` from its __init__.
    """

    def _build(
        self, dim: int, hidden: int, depth: int, input_kind: str, signal_scale: float, inputs: int, outputs: int
    ) -> None:
        if dim < 1 or not signal_scale > 0:
            raise ValueError(f"need dim >= 1 and signal_scale > 0, got dim={dim}, signal_scale={signal_scale}")
        sizes = dict(shape=[int(dim)], hidden=int(hidden), depth=int(depth))
        super().__init__(dict(sizes, input_kind=input_kind, signal_scale=float(signal_scale)))  # the Network's
        self.net = mlp(inputs, hidden, depth, outputs)

    @classmethod
    def from_config(cls, config: dict):
        return cls(config["shape"][0], config["hidden"], config["depth"], config["input_kind"], config["signal_scale"])

    def _check(self, x: torch.Tensor) -> None:
        if x.ndim != 2 or tuple(x.shape[1:]) != self.shape:
            raise ValueError(f"{type(self).__name__} expects (B, {self.shape[0]}) inputs, got {tuple(x.shape)}")


@register_architecture
class MLPAmortizer(VectorMLP, Amortizer):
    """MLP on flat vectors: inputs x_t, x0, y_img (scaled), log sigma_t, log sigma_tau.

    The likelihood gradient enters as asinh(s * grad), s the bridge std: s * grad is the likelihood's pull
    in units of the prior's std (for small s the optimal u below is about s * grad), and asinh keeps
    the huge gradients of unseen, sharper likelihoods bounded. dmu is returned in units of s, so the
    same output means a comparable move at every noise level: dmu = s * u, drho = v, (u, v) = MLP.
    """

    arch = "mlp"

    def __init__(
        self, dim: int, hidden: int = 256, depth: int = 3, input_kind: str = "grad", signal_scale: float = 1.0
    ):
        self._build(dim, hidden, depth, input_kind, signal_scale, inputs=3 * dim + 2, outputs=2 * dim)

    def features(self, x_t, x0, y_img, sigma_t, sigma_tau, s) -> torch.Tensor:
        scale = self.config["signal_scale"]
        y_feat = observation_feature(self.input_kind, y_img, s, scale)
        times = torch.stack([sigma_t.log(), sigma_tau.log()], dim=1).to(x_t.dtype)
        return torch.cat([x_t / scale, x0 / scale, y_feat, times], dim=1)

    def forward(self, x_t, x0, y_img, sigma_t, sigma_tau) -> tuple[torch.Tensor, torch.Tensor]:
        self._check(x_t)
        s = bridge_std(sigma_t, sigma_tau).to(x_t.dtype)[:, None]
        u, v = self.net(self.features(x_t, x0, y_img, sigma_t, sigma_tau, s)).chunk(2, dim=1)
        return s * u, v


@register_architecture
class MLPConditionalDenoiser(VectorMLP, ConditionalDenoiser):
    """MLP residual on flat vectors: inputs x_t, D(x_t, t), y_img (scaled; asinh(scale * grad) for "grad"),
    log sigma_t; output in units of signal_scale. Input kind "pinv" (A^+ y) is this baseline's default."""

    arch = "mlp-denoiser"

    def __init__(
        self, dim: int, hidden: int = 256, depth: int = 3, input_kind: str = "pinv", signal_scale: float = 1.0
    ):
        self._build(dim, hidden, depth, input_kind, signal_scale, inputs=3 * dim + 1, outputs=dim)

    def forward(self, x_t, x0_prior, y_img, sigma_t) -> torch.Tensor:
        scale = self.config["signal_scale"]
        y_feat = torch.asinh(y_img * scale) if self.input_kind == "grad" else y_img / scale
        feats = torch.cat([x_t / scale, x0_prior / scale, y_feat, sigma_t.log()[:, None].to(x_t.dtype)], dim=1)
        return scale * self.net(feats)
