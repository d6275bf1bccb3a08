"""diag(A^T A) (`LinearOperator.gram_diagonal`), the variance of the linearised inner solution.

Every operator with a closed form agrees with ||A e_j||^2 computed column by column, shared and per
sample; the default (Hutchinson) estimate agrees with it on an operator that has no closed form, uses
the same probes for every sample, and is computed once (exact on small signals, Hutchinson above).
"""

from __future__ import annotations

import pytest
import torch

from lavps.operators import ExternalOperator, LinearOperator
from lavps.operators.base import _hutchinson_diagonal
from lavps.operators.stack import StackedOperator
from test_svd import FACTORIES, B


def exact_gram_diagonal(op: LinearOperator, batch: int) -> torch.Tensor:
    """||A e_j||^2 for every coordinate j, one forward pass per coordinate and sample."""
    d = op.in_dim
    eye = torch.eye(d, dtype=torch.float64).reshape(d, *op.in_shape)
    rows = []
    for i in range(batch):
        cols = torch.stack([op.forward(eye[j].expand(batch, *op.in_shape).to(op._dtype()))[i] for j in range(d)])
        rows.append(cols.double().flatten(1).pow(2).sum(1).reshape(op.in_shape))
    return torch.stack(rows)


@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.parametrize("per_sample", [False, True])
def test_closed_form_gram_diagonal_matches_columns(name, per_sample):
    op = FACTORIES[name](B if per_sample else None, torch.Generator().manual_seed(3))
    batch = op.batch_size or 1
    diag = op.gram_diagonal()
    assert type(op).gram_diagonal is not LinearOperator.gram_diagonal, f"{name} should have a closed form"
    assert diag.dtype == torch.float64 and tuple(diag.shape[1:]) == tuple(op.in_shape)
    assert diag.shape[0] in (1, batch)
    torch.testing.assert_close(diag.expand(batch, *op.in_shape), exact_gram_diagonal(op, batch), rtol=1e-5, atol=1e-6)


def _cumsum_operator(batch_scale: torch.Tensor | None = None) -> ExternalOperator:
    """x -> cumulative sum (times a per-sample scale): no closed-form Gram diagonal."""
    scale = torch.ones(1) if batch_scale is None else batch_scale

    def fwd(x):
        return x.cumsum(-1) * scale.reshape(-1, 1).to(x.dtype)

    def adj(y):
        return (y * scale.reshape(-1, 1).to(y.dtype)).flip(-1).cumsum(-1).flip(-1)

    return ExternalOperator(fwd, adj, (12,), dtype=torch.float64)


def test_default_is_exact_on_small_signals_and_computed_once():
    op = _cumsum_operator()
    diag = op.gram_diagonal()
    torch.testing.assert_close(diag[0], torch.arange(12, 0, -1, dtype=torch.float64))  # ||A e_j||^2 = 12 - j
    assert op.gram_diagonal() is diag  # cached


class _LocalOperator(LinearOperator):
    """A 3-tap circular smoother, one scale per sample: local like a blur, without a closed-form diagonal."""

    in_shape = out_shape = (40,)

    def __init__(self, scale: torch.Tensor):
        self.scale, self.batch_size = scale.reshape(-1, 1), scale.shape[0]

    def forward(self, x):
        self.check_input(x)
        return (0.5 * x + 0.3 * x.roll(1, -1) + 0.2 * x.roll(-1, -1)) * self.scale

    def adjoint(self, y):
        self.check_observation(y)
        y = y * self.scale
        return 0.5 * y + 0.3 * y.roll(-1, -1) + 0.2 * y.roll(1, -1)


def test_hutchinson_estimate_is_close_and_batch_independent():
    scale = torch.tensor([1.0, 2.0, 0.5], dtype=torch.float64)
    op = _LocalOperator(scale)
    est = _hutchinson_diagonal(op)
    exact = exact_gram_diagonal(op, 3)  # 0.5^2 + 0.3^2 + 0.2^2 = 0.38, times scale^2
    assert bool((est >= 0).all())
    rel = ((est - exact).abs() / exact).mean()
    assert rel < 0.2, f"Hutchinson estimate too far from diag(A^T A): mean relative error {rel:.3f}"
    # the same probes for every sample: sample 0 alone gets the same numbers, sample 1 = 4 x sample 0
    torch.testing.assert_close(_hutchinson_diagonal(_LocalOperator(scale[:1])), est[:1])
    torch.testing.assert_close(est[1], 4 * est[0])


def test_stacked_operator_gathers_each_member():
    g = torch.Generator().manual_seed(5)
    members = [FACTORIES["motion-blur"](None, g), FACTORIES["motion-blur"](None, g)]
    stack = StackedOperator(members)
    torch.testing.assert_close(stack.gram_diagonal(), torch.cat([m.gram_diagonal() for m in members]))
