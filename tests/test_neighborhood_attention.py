"""Neighbourhood attention against a brute-force loop written from NATTEN's definition."""

import pytest
import torch

from lavps.priors.hdit.neighborhood import neighborhood_attention, window_indices


def _axis_window(index: int, length: int, kernel_size: int, dilation: int) -> list[int]:
    """The definition: the query's dilation group, kernel_size consecutive members centred on it, pushed inside."""
    members = list(range(index % dilation, length, dilation))
    at = members.index(index)
    start = min(max(at - kernel_size // 2, 0), len(members) - kernel_size)
    return members[start : start + kernel_size]


def _brute_force(q, k, v, kernel_size, dilation, scale):
    out = torch.zeros(*q.shape[:-1], v.shape[-1], dtype=q.dtype)
    height, width = q.shape[-3], q.shape[-2]
    for i in range(height):
        for j in range(width):
            keys = [
                (a, b)
                for a in _axis_window(i, height, kernel_size, dilation)
                for b in _axis_window(j, width, kernel_size, dilation)
            ]
            kk = torch.stack([k[..., a, b, :] for a, b in keys], dim=-2)  # (..., k*k, D)
            vv = torch.stack([v[..., a, b, :] for a, b in keys], dim=-2)
            w = torch.softmax((kk @ q[..., i, j, :, None]).squeeze(-1) * scale, dim=-1)
            out[..., i, j, :] = (w[..., None] * vv).sum(-2)
    return out


@pytest.mark.parametrize("kernel_size", [3, 5, 7])
@pytest.mark.parametrize("dilation", [1, 2])
def test_matches_the_definition_on_sides_not_divisible_by_the_kernel(kernel_size, dilation):
    g = torch.Generator().manual_seed(kernel_size * 10 + dilation)
    height, width = kernel_size * dilation + 3, kernel_size * dilation + 4  # also odd sides with dilation 2
    q, k, v = (torch.randn(2, 3, height, width, 4, generator=g, dtype=torch.float64) for _ in range(3))
    expected = _brute_force(q, k, v, kernel_size, dilation, scale=0.7)
    got = neighborhood_attention(q, k, v, kernel_size, dilation, scale=0.7)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)


def test_windows_are_centred_inside_and_pushed_in_at_the_borders():
    assert window_indices(9, 3).tolist()[4] == [3, 4, 5]
    assert window_indices(9, 3).tolist()[0] == [0, 1, 2]  # left border: shifted right, not clipped
    assert window_indices(9, 3).tolist()[8] == [6, 7, 8]
    # dilation 2 on 9 positions: group 0 = 0,2,4,6,8 and group 1 = 1,3,5,7
    assert window_indices(9, 3, 2).tolist()[7] == [3, 5, 7]
    assert window_indices(9, 3, 2).tolist()[0] == [0, 2, 4]


def test_global_window_equals_full_attention():
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(1, 2, 5, 5, 8, generator=g) for _ in range(3))
    full = torch.nn.functional.scaled_dot_product_attention(
        q.flatten(-3, -2), k.flatten(-3, -2), v.flatten(-3, -2), scale=1.0
    ).unflatten(-2, (5, 5))
    torch.testing.assert_close(neighborhood_attention(q, k, v, 5), full, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("kernel_size", "dilation", "message"),
    [(4, 1, "odd kernel size"), (3, 0, "dilation must be"), (5, 2, "shorter than kernel_size")],
)
def test_bad_arguments_are_clear_errors(kernel_size, dilation, message):
    x = torch.zeros(1, 8, 8, 2)
    with pytest.raises(ValueError, match=message):
        neighborhood_attention(x, x, x, kernel_size, dilation)
