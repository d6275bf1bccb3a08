"""Building blocks of the hourglass diffusion transformer (HDiT): norms, GEGLU, Fourier features, axial RoPE,
token merging and splitting.

Crowson et al., "Scalable High-Resolution Pixel-Space Image Synthesis with Hourglass Diffusion Transformers"
(ICML 2024). Tensors are channels-last, (B, H, W, C). Parameter names follow the published checkpoints so
that their state dicts load without renaming (see `lavps.priors.hdit.loader`).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = [
    "rms_norm",
    "RMSNorm",
    "AdaRMSNorm",
    "LinearGEGLU",
    "FourierFeatures",
    "AxialRoPE",
    "rotate",
    "axial_positions",
    "downscale_positions",
    "TokenMerge",
    "TokenSplit",
    "zero_init",
]


def zero_init(layer: nn.Linear) -> nn.Linear:
    """A linear layer whose output starts at zero (residual branches start as the identity)."""
    nn.init.zeros_(layer.weight)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return layer


def rms_norm(x: torch.Tensor, scale: torch.Tensor, eps: float) -> torch.Tensor:
    """x * scale / sqrt(mean(x^2) + eps) over the last axis, the statistics in at least float32."""
    dtype = torch.promote_types(torch.promote_types(x.dtype, scale.dtype), torch.float32)
    factor = scale.to(dtype) * torch.rsqrt(x.to(dtype).pow(2).mean(dim=-1, keepdim=True) + eps)
    return x * factor.to(x.dtype)


class RMSNorm(nn.Module):
    """RMS normalisation with a learned per-channel scale."""

    def __init__(self, features: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.scale = nn.Parameter(torch.ones(features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rms_norm(x, self.scale, self.eps)


class AdaRMSNorm(nn.Module):
    """RMS normalisation whose scale is 1 + a linear map of the conditioning vector (zero-initialised)."""

    def __init__(self, features: int, cond_features: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.linear = zero_init(nn.Linear(cond_features, features, bias=False))

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return rms_norm(x, self.linear(cond)[:, None, None, :] + 1, self.eps)


class LinearGEGLU(nn.Linear):
    """x -> a * gelu(b) with [a, b] = x W^T (+ bias): a gated linear unit, out_features wide."""

    def __init__(self, in_features: int, out_features: int, bias: bool = False):
        super().__init__(in_features, 2 * out_features, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = super().forward(x).chunk(2, dim=-1)
        return value * F.gelu(gate)


class FourierFeatures(nn.Module):
    """[cos(2 pi x W^T), sin(2 pi x W^T)] with a fixed random W (a buffer saved with the weights)."""

    def __init__(self, in_features: int, out_features: int, std: float = 1.0):
        super().__init__()
        self.register_buffer("weight", torch.randn(out_features // 2, in_features) * std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = 2 * math.pi * x @ self.weight.T
        return torch.cat([f.cos(), f.sin()], dim=-1)


class AxialRoPE(nn.Module):
    """Rotation angles of axial rotary position embeddings: per head, dim // 4 frequencies per axis.

    The frequencies are log-spaced from pi to 10 pi and interleaved across heads; the angles for a
    position (y, x) are [y * f, x * f], dim // 2 of them, which rotate the first dim of a head's channels.
    """

    def __init__(self, dim: int, n_heads: int):
        super().__init__()
        freqs = torch.linspace(math.log(math.pi), math.log(10.0 * math.pi), n_heads * dim // 4 + 1)[:-1].exp()
        self.register_buffer("freqs", freqs.view(dim // 4, n_heads).T.contiguous())

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        """Angles of shape (..., n_heads, dim // 2) for positions of shape (..., 2)."""
        freqs = self.freqs.to(pos.dtype)
        return torch.cat((pos[..., None, 0:1] * freqs, pos[..., None, 1:2] * freqs), dim=-1)


def rotate(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Rotate channel pairs (i, i + d) of x by theta (d = theta's last size); channels from 2d on are kept."""
    d = theta.shape[-1]
    dtype = torch.promote_types(torch.promote_types(x.dtype, theta.dtype), torch.float32)
    x1, x2 = x[..., :d].to(dtype), x[..., d : 2 * d].to(dtype)
    cos, sin = theta.to(dtype).cos(), theta.to(dtype).sin()
    rotated = torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1).to(x.dtype)
    return torch.cat((rotated, x[..., 2 * d :]), dim=-1)


def axial_positions(height: int, width: int, device=None) -> torch.Tensor:
    """(height, width, 2) token centres (y, x) in a box of half-side 1 along the longer axis."""
    aspect = width / height
    y_max, x_max = (1 / aspect, 1.0) if aspect > 1 else (1.0, aspect)

    def centres(half: float, n: int) -> torch.Tensor:
        edges = torch.linspace(-half, half, n + 1, device=device)
        return (edges[:-1] + edges[1:]) / 2

    grid = torch.meshgrid(centres(y_max, height), centres(x_max, width), indexing="ij")
    return torch.stack(grid, dim=-1)


def downscale_positions(pos: torch.Tensor) -> torch.Tensor:
    """Positions of 2x2-merged tokens: the mean of the four."""
    h, w, e = pos.shape[-3:]
    return pos.reshape(*pos.shape[:-3], h // 2, 2, w // 2, 2, e).mean(dim=(-4, -2))


def _patches(x: torch.Tensor, ph: int, pw: int) -> torch.Tensor:
    """(..., H, W, C) -> (..., H/ph, W/pw, ph * pw * C), the patch's pixels row-major, then channels."""
    *b, h, w, c = x.shape
    x = x.reshape(*b, h // ph, ph, w // pw, pw, c).transpose(-4, -3)
    return x.reshape(*b, h // ph, w // pw, ph * pw * c)


def _unpatches(x: torch.Tensor, ph: int, pw: int) -> torch.Tensor:
    """The inverse of `_patches`."""
    *b, h, w, e = x.shape
    x = x.reshape(*b, h, w, ph, pw, e // (ph * pw)).transpose(-4, -3)
    return x.reshape(*b, h * ph, w * pw, e // (ph * pw))


class TokenMerge(nn.Module):
    """Patches of ph x pw tokens concatenated, then projected to out_features."""

    def __init__(self, in_features: int, out_features: int, patch_size: tuple[int, int] = (2, 2)):
        super().__init__()
        self.patch_size = tuple(patch_size)
        self.proj = nn.Linear(in_features * self.patch_size[0] * self.patch_size[1], out_features, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(_patches(x, *self.patch_size))


class TokenSplit(nn.Module):
    """Each token projected to a ph x pw patch; with_skip: interpolated with the skip by a learned factor."""

    def __init__(self, in_features: int, out_features: int, patch_size: tuple[int, int] = (2, 2), with_skip=True):
        super().__init__()
        self.patch_size = tuple(patch_size)
        self.proj = nn.Linear(in_features, out_features * self.patch_size[0] * self.patch_size[1], bias=False)
        if with_skip:
            self.fac = nn.Parameter(torch.ones(1) * 0.5)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        x = _unpatches(self.proj(x), *self.patch_size)
        return x if skip is None else torch.lerp(skip, x, self.fac.to(x.dtype))
