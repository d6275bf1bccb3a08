"""HDiT transformer layers: cosine-similarity self-attention (global or neighbourhood) with axial RoPE,
GEGLU feed-forward, both pre-normalised by AdaRMSNorm on the mapping network's output, and the mapping network.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .layers import AdaRMSNorm, AxialRoPE, LinearGEGLU, RMSNorm, rotate, zero_init
from .neighborhood import neighborhood_attention

__all__ = ["SelfAttentionBlock", "FeedForwardBlock", "TransformerLayer", "MappingNetwork"]


def _cosine_scaled(x: torch.Tensor, scale: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """x / |x| * sqrt(scale): q . k is then scale times the cosine similarity."""
    dtype = torch.promote_types(torch.promote_types(x.dtype, scale.dtype), torch.float32)
    factor = scale.to(dtype).sqrt() * torch.rsqrt(x.to(dtype).pow(2).sum(dim=-1, keepdim=True) + eps)
    return x * factor.to(x.dtype)


class SelfAttentionBlock(nn.Module):
    """Residual self-attention over all tokens (kernel_size None) or each token's neighbourhood.

    q . k is a learned per-head scale (initially 10) times the cosine similarity; no further 1/sqrt(d).
    """

    def __init__(self, d_model: int, d_head: int, cond_features: int, kernel_size: int | None, dropout: float = 0.0):
        super().__init__()
        self.d_head, self.n_heads, self.kernel_size = d_head, d_model // d_head, kernel_size
        self.norm = AdaRMSNorm(d_model, cond_features)
        self.qkv_proj = nn.Linear(d_model, 3 * d_model, bias=False)
        self.scale = nn.Parameter(torch.full([self.n_heads], 10.0))
        self.pos_emb = AxialRoPE(d_head // 2, self.n_heads)
        self.dropout = nn.Dropout(dropout)
        self.out_proj = zero_init(nn.Linear(d_model, d_model, bias=False))

    def forward(self, x: torch.Tensor, pos: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        qkv = self.qkv_proj(self.norm(x, cond)).reshape(b, h, w, 3, self.n_heads, self.d_head)
        q, k, v = qkv.permute(3, 0, 4, 1, 2, 5)  # each (B, heads, H, W, d_head)
        scale = self.scale[:, None, None, None]
        # as the published model: global attention takes the angles in the activations' dtype, neighbourhood
        # attention in the positions' (float32)
        theta = self.pos_emb(pos if self.kernel_size else pos.to(qkv.dtype)).movedim(-2, -4)  # (heads, H, W, d/4)
        q, k = rotate(_cosine_scaled(q, scale), theta), rotate(_cosine_scaled(k, scale), theta)
        if self.kernel_size is None:
            out = F.scaled_dot_product_attention(q.flatten(2, 3), k.flatten(2, 3), v.flatten(2, 3), scale=1.0)
            out = out.unflatten(2, (h, w))
        else:
            out = neighborhood_attention(q, k, v, self.kernel_size)
        out = out.permute(0, 2, 3, 1, 4).reshape(b, h, w, self.n_heads * self.d_head)
        return x + self.out_proj(self.dropout(out))


class FeedForwardBlock(nn.Module):
    """Residual GEGLU feed-forward, pre-normalised by AdaRMSNorm."""

    def __init__(self, d_model: int, d_ff: int, cond_features: int, dropout: float = 0.0):
        super().__init__()
        self.norm = AdaRMSNorm(d_model, cond_features)
        self.up_proj = LinearGEGLU(d_model, d_ff, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.down_proj = zero_init(nn.Linear(d_ff, d_model, bias=False))

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return x + self.down_proj(self.dropout(self.up_proj(self.norm(x, cond))))


class TransformerLayer(nn.Module):
    """Self-attention then feed-forward."""

    def __init__(self, d_model: int, d_ff: int, d_head: int, cond_features: int, kernel_size: int | None, dropout=0.0):
        super().__init__()
        self.self_attn = SelfAttentionBlock(d_model, d_head, cond_features, kernel_size, dropout)
        self.ff = FeedForwardBlock(d_model, d_ff, cond_features, dropout)

    def forward(self, x: torch.Tensor, pos: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.ff(self.self_attn(x, pos, cond), cond)


class _MappingBlock(nn.Module):
    def __init__(self, d_model: int, d_ff: int, dropout: float = 0.0):
        super().__init__()
        self.norm = RMSNorm(d_model)
        self.up_proj = LinearGEGLU(d_model, d_ff, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.down_proj = zero_init(nn.Linear(d_ff, d_model, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.down_proj(self.dropout(self.up_proj(self.norm(x))))


class MappingNetwork(nn.Module):
    """The conditioning MLP: RMSNorm, residual GEGLU blocks, RMSNorm."""

    def __init__(self, n_layers: int, d_model: int, d_ff: int, dropout: float = 0.0):
        super().__init__()
        self.in_norm = RMSNorm(d_model)
        self.blocks = nn.ModuleList([_MappingBlock(d_model, d_ff, dropout) for _ in range(n_layers)])
        self.out_norm = RMSNorm(d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.in_norm(x)
        for block in self.blocks:
            x = block(x)
        return self.out_norm(x)
