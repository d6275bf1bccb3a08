"""Two-dimensional neighbourhood attention in plain PyTorch, with NATTEN's (0.17) window placement.

Hassani et al., "Neighborhood Attention Transformer" (CVPR 2023) and "Dilated Neighborhood Attention
Transformer" (2022); https://github.com/SHI-Labs/NATTEN. Each query attends to a kernel_size x kernel_size
window of keys. Along each axis separately, with dilation d the positions split into d groups (i mod d);
a query only sees keys of its own group, and inside the group (positions g, g + d, g + 2d, ...) its window
is the kernel_size consecutive members centred on it, shifted inward at the borders so that it always
holds kernel_size keys. Hence a side must be at least kernel_size * dilation long (NATTEN's requirement).

The keys of every window are gathered by index, a block of query rows at a time, so memory stays
bounded (`max_elements`) whatever the image size.
"""

from __future__ import annotations

import torch

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


def neighborhood_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    kernel_size: int,
    dilation: int = 1,
    scale: float = 1.0,
    max_elements: int = 1 << 25,
) -> torch.Tensor:
    """softmax(scale * q . k over each query's window) @ v, for q, k, v of shape (..., H, W, D).

    Equals NATTEN's na2d_av(softmax(na2d_qk(q, k) * scale), v) (no relative positional bias).
    `max_elements` bounds the gathered key block (elements), which sets how many query rows go at once.
    """
    if q.shape != k.shape or q.shape[:-1] != v.shape[:-1] or q.ndim < 3:
        raise ValueError(f"expected q, k of equal shape (..., H, W, D) and v of (..., H, W, Dv), got "
                         f"{tuple(q.shape)}, {tuple(k.shape)}, {tuple(v.shape)}")
    height, width = q.shape[-3], q.shape[-2]
    rows = window_indices(height, kernel_size, dilation, q.device)
    cols = window_indices(width, kernel_size, dilation, q.device)
    batch = q[..., 0, 0, 0].numel()
    per_row = batch * width * kernel_size * kernel_size * max(q.shape[-1], v.shape[-1])
    step = max(1, min(height, max_elements // max(per_row, 1)))
    out = []
    for r0 in range(0, height, step):
        block = rows[r0 : r0 + step]  # (R, kh): key rows of these query rows
        keys = k[..., block, :, :][..., cols, :]  # (..., R, kh, W, kw, D)
        logits = torch.einsum("...rwd,...rawcd->...rwac", q[..., r0 : r0 + step, :, :], keys) * scale
        weights = logits.flatten(-2).softmax(dim=-1).unflatten(-1, (kernel_size, kernel_size)).to(v.dtype)
        values = v[..., block, :, :][..., cols, :]
        out.append(torch.einsum("...rwac,...rawcd->...rwd", weights, values))
    return torch.cat(out, dim=-3)
