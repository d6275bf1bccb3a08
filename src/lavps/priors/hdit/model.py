"""The HDiT network and its EDM-preconditioned denoiser D(x, sigma).

Karras et al. (EDM, NeurIPS 2022) preconditioning with sigma_data s:
    D(x, sigma) = c_skip x + c_out F(c_in x, c_noise),  c_skip = s^2 / (sigma^2 + s^2),
    c_out = sigma s / sqrt(sigma^2 + s^2),  c_in = 1 / sqrt(sigma^2 + s^2),  c_noise = log(sigma) / 4.
The network F is an hourglass of transformer levels (`lavps.priors.hdit.blocks`): patches in, levels down
(2x2 token merges), the middle level, levels up (splits interpolated with the skip), patches out.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from .blocks import MappingNetwork, TransformerLayer
from .config import HDiTConfig
from .layers import FourierFeatures, RMSNorm, TokenMerge, TokenSplit, axial_positions, downscale_positions

__all__ = ["HDiT", "HDiTDenoiser", "check_class_label", "randomize_"]


class HDiT(nn.Module):
    """The network F(x, c_noise, class) -> (B, channels * out_mult, H, W); x of shape (B, channels * in_mult, H, W).

    `second_noise=True` adds a second, zero-initialised noise-level embedding (the amortizer's tau).
    """

    def __init__(self, config: HDiTConfig, second_noise: bool = False):
        super().__init__()
        self.config = config
        c, m = config, config.mapping_width
        self.patch_in = TokenMerge(c.channels * c.in_mult, c.widths[0], (c.patch_size, c.patch_size))
        self.time_emb = FourierFeatures(1, m)
        self.time_in_proj = nn.Linear(m, m, bias=False)
        self.time_in_proj_s = nn.Linear(m, m, bias=False) if second_noise else None
        if self.time_in_proj_s is not None:
            nn.init.zeros_(self.time_in_proj_s.weight)
        self.aug_emb = FourierFeatures(9, m)  # augmentation conditioning: always zero at inference
        self.aug_in_proj = nn.Linear(m, m, bias=False)
        self.class_emb = nn.Embedding(c.num_classes, m) if c.num_classes else None
        self.mapping = MappingNetwork(c.mapping_depth, m, 3 * m)

        def level(i: int) -> nn.ModuleList:
            kernel = c.kernel_sizes[i] or None
            return nn.ModuleList(
                TransformerLayer(c.widths[i], c.d_ffs[i], c.d_head, m, kernel, c.dropout) for _ in range(c.depths[i])
            )

        last = len(c.widths) - 1
        self.down_levels = nn.ModuleList(level(i) for i in range(last))
        self.up_levels = nn.ModuleList(level(i) for i in range(last))
        self.mid_level = level(last)
        self.merges = nn.ModuleList(TokenMerge(c.widths[i], c.widths[i + 1]) for i in range(last))
        self.splits = nn.ModuleList(TokenSplit(c.widths[i + 1], c.widths[i]) for i in range(last))
        self.out_norm = RMSNorm(c.widths[0])
        self.patch_out = TokenSplit(c.widths[0], c.channels * c.out_mult, (c.patch_size, c.patch_size), with_skip=False)
        nn.init.zeros_(self.patch_out.proj.weight)

    def forward(
        self,
        x: torch.Tensor,
        c_noise: torch.Tensor,
        class_label: torch.Tensor | None = None,
        c_noise_s: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """class_label: (B,) or (1,) LongTensor, required when the network has classes (null = num_classes - 1)."""
        x = self.patch_in(x.movedim(-3, -1))
        pos = axial_positions(x.shape[-3], x.shape[-2], device=x.device)
        emb = self.time_in_proj(self.time_emb(c_noise[:, None]))
        if self.time_in_proj_s is not None and c_noise_s is not None:
            emb = emb + self.time_in_proj_s(self.time_emb(c_noise_s[:, None]))
        emb = emb + self.aug_in_proj(self.aug_emb(x.new_zeros(x.shape[0], 9)))
        if self.class_emb is not None:
            if class_label is None:
                raise ValueError(
                    "this HDiT is class-conditional: give a class label (the null class is "
                    f"{self.config.num_classes - 1})"
                )
            emb = emb + self.class_emb(class_label)
        cond = self.mapping(emb)

        skips = []
        for layers, merge in zip(self.down_levels, self.merges, strict=True):
            for layer in layers:
                x = layer(x, pos, cond)
            skips.append((x, pos))
            x, pos = merge(x), downscale_positions(pos)
        for layer in self.mid_level:
            x = layer(x, pos, cond)
        for layers, split in zip(reversed(self.up_levels), reversed(self.splits), strict=True):
            skip, pos = skips.pop()
            x = split(x, skip)
            for layer in layers:
                x = layer(x, pos, cond)
        return self.patch_out(self.out_norm(x)).movedim(-1, -3)


class HDiTDenoiser(nn.Module):
    """D(x, sigma) = E[x_0 | x_0 + sigma n = x] of an EDM-preconditioned HDiT (fp32 in and out).

    class_label: the class every call is conditioned on for a class-conditional network (an int;
    `config.num_classes - 1` is the null class); must be None for an unconditional one.
    """

    def __init__(self, config: HDiTConfig, class_label: int | None = None):
        super().__init__()
        self.config = config
        # settings outside the tensors (kernel sizes, sigma_data) change D: the prior's fingerprint hashes them;
        # dropout does not (off at sampling)
        self.fingerprint_config = {k: v for k, v in dataclasses.asdict(config).items() if k != "dropout"}
        self.shape = config.shape
        self.net = HDiT(config)
        self.class_label = check_class_label(config, class_label)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        s = self.config.sigma_data
        sigma = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).reshape(-1)
        sigma4 = sigma.reshape(-1, 1, 1, 1)
        c_skip = s**2 / (sigma4**2 + s**2)
        c_out = sigma4 * s / (sigma4**2 + s**2).sqrt()
        c_in = 1 / (sigma4**2 + s**2).sqrt()
        label = None
        if self.class_label is not None:
            label = torch.full((x.shape[0],), self.class_label, dtype=torch.long, device=x.device)
        return c_skip * x + c_out * self.net(c_in * x, sigma.log() / 4, label)


def check_class_label(config: HDiTConfig, class_label: int | None) -> int | None:
    """The class label if it fits the config; a ValueError naming the problem otherwise."""
    if not config.num_classes:
        if class_label is not None:
            raise ValueError("this HDiT prior is unconditional: it takes no class label")
        return None
    if class_label is None:
        raise ValueError(
            f"this HDiT prior is class-conditional: give a class label 0..{config.num_classes - 2} "
            f"or null (--class-label N|null, or :class=N|null at the end of the prior spec)"
        )
    if isinstance(class_label, bool) or not isinstance(class_label, int):
        raise ValueError(f"class label must be an integer or 'null', got {class_label!r}")
    if not 0 <= class_label < config.num_classes:
        raise ValueError(
            f"class label {class_label} out of range 0..{config.num_classes - 1} ({config.num_classes - 1} = null)"
        )
    return class_label


def randomize_(net: nn.Module, seed: int = 0) -> nn.Module:
    """Fill a network's weights with seeded random values that keep activations O(1) (in place; returns it).

    For speed benchmarks and parity checks only: a freshly built HDiT is zero-initialised in its residual
    branches and output, which would hide most of the computation from a comparison. Draws follow the
    sorted state-dict names, so any code that builds the same names reproduces the same weights.
    """
    generator = torch.Generator().manual_seed(int(seed))
    state = net.state_dict()
    with torch.no_grad():
        for name in sorted(state):
            value = state[name]
            if not value.is_floating_point() or name.endswith("pos_emb.freqs"):
                continue  # fixed rotary frequencies, not weights
            noise = torch.randn(value.shape, generator=generator, dtype=torch.float32)
            if name.endswith("self_attn.scale"):
                new = 10 * (1 + 0.2 * noise).abs()
            elif name.endswith("scale"):
                new = 1 + 0.2 * noise
            elif name.endswith("fac"):
                new = torch.sigmoid(noise)
            elif value.ndim == 2 and not name.endswith(("_emb.weight", "class_emb.weight")):
                new = noise / value.shape[1] ** 0.5
            else:
                new = noise
            value.copy_(new.to(value.dtype))
    return net
