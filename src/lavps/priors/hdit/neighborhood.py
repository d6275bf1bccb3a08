"""Two-dimensional neighbourhood attention in plain PyTorch, with NATTEN's (0.17) window placement.

Hassani et al., "Neighborhood Attention Transformer" (CVPR 2023) and "Dilated Neighborhood Attention
Transformer" (2022); https://github.com/SHI-Labs/NATTEN. Each query attends to a kernel_size x kernel_size
window of keys. Along each axis separately, with dilation d the positions split into d groups (i mod d);
a query only sees keys of its own group, and inside the group (positions g, g + d, g + 2d, ...) its window
is the kernel_size consecutive members centred on it, shifted inward at the borders so that it always
holds kernel_size keys. Hence a side must be at least kernel_size * dilation long (NATTEN's requirement).

Computed by tiles of queries, each attending densely to the keys its windows span under a mask: plain
PyTorch (scaled_dot_product_attention) on any device, no padding.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

__all__ = ["window_indices", "neighborhood_attention"]


def window_indices(length: int, kernel_size: int, dilation: int = 1, device=None) -> torch.Tensor:
    """(length, kernel_size) LongTensor: the key positions each query position sees along one axis."""
    _check(length, kernel_size, dilation)
    index = torch.arange(length, device=device)
    group = index % dilation
    position_in_group = index // dilation
    group_length = (length - group + dilation - 1) // dilation  # members of the query's dilation group
    start = (position_in_group - kernel_size // 2).clamp(min=0)
    start = torch.minimum(start, group_length - kernel_size)  # shifted inward at the far border
    offsets = torch.arange(kernel_size, device=device)
    return (start[:, None] + offsets[None, :]) * dilation + group[:, None]


def _check(length: int, kernel_size: int, dilation: int) -> None:
    if kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"neighbourhood attention needs an odd kernel size >= 1, got {kernel_size}")
    if dilation < 1:
        raise ValueError(f"dilation must be >= 1, got {dilation}")
    if length < kernel_size * dilation:
        raise ValueError(
            f"a side of {length} is shorter than kernel_size * dilation = {kernel_size} * {dilation} "
            "(NATTEN's requirement)"
        )


def _tiles(length: int, kernel_size: int, dilation: int, tile: int, device) -> tuple[torch.Tensor, ...]:
    """Along one axis: query positions per tile (n, tile), the key span they need (n, S), and which of those
    keys each query sees (n, tile, S) bool. The last tile repeats the last position to stay full."""
    windows = window_indices(length, kernel_size, dilation, device)
    tile = min(tile, length)
    n = -(-length // tile)
    queries = (torch.arange(n, device=device)[:, None] * tile + torch.arange(tile, device=device)).clamp(max=length - 1)
    first, last = windows[queries].amin(dim=(1, 2)), windows[queries].amax(dim=(1, 2))
    span = int((last - first).max()) + 1
    keys = first.clamp(max=length - span)[:, None] + torch.arange(span, device=device)
    sees = (windows[queries][:, :, :, None] == keys[:, None, None, :]).any(dim=2)
    return queries, keys, sees


def _gather_tiles(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """(..., H, W, D) -> (..., nr, nc, r * c, D) for row / column index tiles of shapes (nr, r), (nc, c)."""
    x = x.index_select(-3, rows.flatten()).index_select(-2, cols.flatten())
    *b, _, _, d = x.shape
    x = x.reshape(*b, rows.shape[0], rows.shape[1], cols.shape[0], cols.shape[1], d).transpose(-4, -3)
    return x.reshape(*b, rows.shape[0], cols.shape[0], rows.shape[1] * cols.shape[1], d)


def neighborhood_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    kernel_size: int,
    dilation: int = 1,
    scale: float = 1.0,
    tile: int = 8,
) -> torch.Tensor:
    """softmax(scale * q . k over each query's window) @ v, for q, k, v of shape (..., H, W, D).

    Equals NATTEN's na2d_av(softmax(na2d_qk(q, k) * scale), v) (no relative positional bias). Queries go in
    tile x tile blocks; each block attends densely (one batched scaled_dot_product_attention) to the span of
    keys its windows cover, masked to each query's own window: memory about (1 + (kernel_size - 1) / tile)^2
    times the keys, the speed of a dense attention kernel.
    """
    if q.shape != k.shape or q.shape[:-1] != v.shape[:-1] or q.ndim < 3:
        raise ValueError(
            f"expected q, k of equal shape (..., H, W, D) and v of (..., H, W, Dv), got "
            f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}"
        )
    height, width = q.shape[-3], q.shape[-2]
    q_rows, k_rows, sees_rows = _tiles(height, kernel_size, dilation, tile, q.device)
    q_cols, k_cols, sees_cols = _tiles(width, kernel_size, dilation, tile, q.device)
    # mask (nr, nc, r * c, S_r * S_c): a key is seen when both its row and its column are
    mask = sees_rows[:, None, :, None, :, None] & sees_cols[None, :, None, :, None, :]
    mask = mask.reshape(mask.shape[0], mask.shape[1], q_rows.shape[1] * q_cols.shape[1], -1)
    out = F.scaled_dot_product_attention(
        _gather_tiles(q, q_rows, q_cols),
        _gather_tiles(k, k_rows, k_cols),
        _gather_tiles(v, k_rows, k_cols),
        attn_mask=mask,
        scale=scale,
    )
    *b, nr, nc, _, d = out.shape
    out = out.reshape(*b, nr, nc, q_rows.shape[1], q_cols.shape[1], d).transpose(-4, -3)
    return out.reshape(*b, nr * q_rows.shape[1], nc * q_cols.shape[1], d)[..., :height, :width, :]
