"""A small UNet amortizer for images, behind the same interface as the MLP (docs/METHOD.md section 5).

Input channels: x_t, x0 and the observation feature (A^+ y, or asinh(s * grad) for the likelihood
gradient), plus two constant channels log sigma_t and log sigma_tau; log sigma_t also drives the
UNet's time embedding. Output: (u, v) with dmu = s * u (a move in units of the bridge std s, the same
convention as the MLP) and drho = v. The final convolution is zero-initialised, so an untrained
network reproduces MGDM's zero-shot start exactly.
"""

from __future__ import annotations

import torch
from diffusers import UNet2DModel
from torch import nn

from .network import Amortizer, bridge_std, observation_feature, register_architecture

__all__ = ["UNetAmortizer"]


@register_architecture
class UNetAmortizer(Amortizer):
    arch = "unet"

    def __init__(
        self,
        shape: tuple[int, int, int],
        channels: tuple[int, ...] = (32, 64),
        layers_per_block: int = 1,
        input_kind: str = "pinv",
    ):
        c, h, w = (int(v) for v in shape)
        if h != w or h % (2 ** (len(channels) - 1)):
            raise ValueError(f"UNetAmortizer needs square images divisible by {2 ** (len(channels) - 1)}, got {shape}")
        super().__init__(
            dict(
                shape=[c, h, w],
                channels=[int(v) for v in channels],
                layers_per_block=int(layers_per_block),
                input_kind=input_kind,
            )
        )
        n = len(channels)
        self.net = UNet2DModel(
            sample_size=h,
            in_channels=3 * c + 2,
            out_channels=2 * c,
            block_out_channels=tuple(channels),
            layers_per_block=layers_per_block,
            down_block_types=("DownBlock2D",) * n,
            up_block_types=("UpBlock2D",) * n,
            norm_num_groups=8,
        )
        nn.init.zeros_(self.net.conv_out.weight)
        nn.init.zeros_(self.net.conv_out.bias)

    @classmethod
    def from_config(cls, config: dict) -> UNetAmortizer:
        return cls(tuple(config["shape"]), tuple(config["channels"]), config["layers_per_block"], config["input_kind"])

    def forward(self, x_t, x0, y_img, sigma_t, sigma_tau) -> tuple[torch.Tensor, torch.Tensor]:
        if x_t.ndim != 4 or tuple(x_t.shape[1:]) != self.shape:
            raise ValueError(f"UNetAmortizer expects (B, {', '.join(map(str, self.shape))}), got {tuple(x_t.shape)}")
        b, c, h, w = x_t.shape
        s = bridge_std(sigma_t, sigma_tau).to(x_t.dtype).reshape(b, 1, 1, 1)
        y_feat = observation_feature(self.input_kind, y_img, s)
        log_t = sigma_t.log().to(x_t.dtype).reshape(b, 1, 1, 1).expand(b, 1, h, w)
        log_tau = sigma_tau.log().to(x_t.dtype).reshape(b, 1, 1, 1).expand(b, 1, h, w)
        inputs = torch.cat([x_t, x0, y_feat, log_t / 5, log_tau / 5], dim=1)
        # sigma_t spans ~1e-2..1.6e2: (log sigma_t + 5) * 100 maps it into the usual 0..1000 timestep range
        timestep = ((sigma_t.log() + 5.0) * 100.0).to(x_t.dtype)
        u, v = self.net(inputs, timestep).sample.chunk(2, dim=1)
        return s * u, v
