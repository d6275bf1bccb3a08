"""The LAVPS paper's amortizer architecture: an HDiT on "palette" inputs (docs/METHOD.md section 5).

Inputs, stacked as 3C channels: x_t / sqrt(abar_t) (the VP state as a VE state at sigma_t, scaled by EDM's
c_in = 1 / sqrt(sigma_t^2 + 1/4)), the current x0 estimate, and the observation feature (A^+ y, or its
`grad` / `linear` variants). sigma_t enters as the HDiT's noise embedding (log(sigma_t) / 4) and sigma_tau
as a second, zero-initialised one. Output: (u, v), 2C channels, with dmu = s * u (units of the bridge std
s, as the UNet amortizer) and drho = v. The HDiT's output projection is zero-initialised, so an untrained
network reproduces MGDM's zero-shot start exactly (input kind "linear": the linearised solution, as for
every amortizer).
"""

from __future__ import annotations

from dataclasses import replace

import torch

from ..priors.hdit.config import HDiTConfig, hdit_config
from ..priors.hdit.model import HDiT
from .network import Amortizer, bridge_std, observation_feature, register_architecture

__all__ = ["HDiTAmortizer", "amortizer_hdit_config"]


def amortizer_hdit_config(structure: str | dict | HDiTConfig, shape: tuple[int, int, int]) -> HDiTConfig:
    """An HDiT config (preset name, JSON file or dict) fitted to images of `shape`: palette in, (u, v) out."""
    c, h, w = (int(v) for v in shape)
    if h != w:
        raise ValueError(f"the HDiT amortizer needs square images, got {shape}")
    base = hdit_config(structure)
    return replace(base, image_size=h, channels=c, in_mult=3, out_mult=2, num_classes=0, dropout=0.0)


@register_architecture
class HDiTAmortizer(Amortizer):
    arch = "hdit"

    def __init__(self, shape: tuple[int, int, int], hdit: str | dict | HDiTConfig = "tiny", input_kind: str = "linear"):
        config = amortizer_hdit_config(hdit, shape)
        super().__init__(dict(shape=list(config.shape), hdit=config.to_json(), input_kind=input_kind))
        self.net = HDiT(config, second_noise=True)

    @classmethod
    def from_config(cls, config: dict) -> HDiTAmortizer:
        return cls(tuple(config["shape"]), dict(config["hdit"]), config["input_kind"])

    def forward(self, x_t, x0, y_img, sigma_t, sigma_tau) -> tuple[torch.Tensor, torch.Tensor]:
        if x_t.ndim != 4 or tuple(x_t.shape[1:]) != self.shape:
            raise ValueError(f"HDiTAmortizer expects (B, {', '.join(map(str, self.shape))}), got {tuple(x_t.shape)}")
        b = x_t.shape[0]
        s = bridge_std(sigma_t, sigma_tau).to(x_t.dtype).reshape(b, 1, 1, 1)
        sig = sigma_t.to(x_t.dtype).reshape(b, 1, 1, 1)
        x_ve = x_t * (1 + sig**2).sqrt() / (sig**2 + 0.25).sqrt()  # x_t / sqrt(abar_t), then EDM's c_in
        inputs = torch.cat([x_ve, x0, observation_feature(self.input_kind, y_img, s)], dim=1)
        out = self.net(inputs, sigma_t.log().to(x_t.dtype) / 4, c_noise_s=sigma_tau.log().to(x_t.dtype) / 4)
        u, v = out.chunk(2, dim=1)
        return s * u, v
