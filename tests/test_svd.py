"""Registry-driven tests of the exact SVD capability (operators/svd.py) and the regularised solve.

Every factory gets every test, shared and per sample: V is orthonormal, A = U diag(s) V^T, A^T =
V diag(s) U^T, singular values agree with torch.linalg.svd of the dense matrix, and the closed-form
regularised least squares agrees with conjugate gradients.
"""

from __future__ import annotations

import pytest
import torch

from helpers import Cumsum
from lavps.operators import (
    AveragePool,
    CircularBlur,
    DenseMatrix,
    Identity,
    Mask,
    NoCheapSVDError,
    parse_operator_spec,
    regularized_least_squares,
)
from lavps.operators.stack import StackedOperator

B = 3


def _spec(spec, shape):
    family = parse_operator_spec(spec, shape)
    return lambda b, g: family.sample_one(g) if b is None else family.sample(b, g)


def _dense(rows, cols):
    return lambda b, g: DenseMatrix(torch.randn(*(() if b is None else (b,)), rows, cols, generator=g))


def _vector_mask(b, g):
    return Mask((torch.rand(*(() if b is None else (b,)), 7, generator=g) > 0.5).float(), (7,))


def _blur(b, g):
    k = torch.rand(*(() if b is None else (b,)), 4, 3, generator=g, dtype=torch.float64)
    return CircularBlur(k / k.sum((-2, -1), keepdim=True), (2, 6, 8))


def _rank2(b, g):
    """A (5, 20) matrix of rank 2 (shared, or one per sample)."""
    size = () if b is None else (b,)
    return torch.randn(*size, 5, 2, generator=g, dtype=torch.float64) @ torch.randn(
        *size, 2, 20, generator=g, dtype=torch.float64
    )


def _stack(member, b, g):
    """StackedOperator of B operators drawn one by one (a stack is per-sample whatever b)."""
    return StackedOperator([member(None, g) for _ in range(B)])


FACTORIES = {
    "identity": lambda b, g: Identity((5,)),
    "identity-image": lambda b, g: Identity((1, 4, 4)),
    "dense-wide": _dense(3, 6),
    "dense-tall": _dense(7, 4),
    "mask-vector": _vector_mask,
    "box": _spec("box:0.3:0.5", (2, 8, 8)),
    "pixels": _spec("pixels:0.3", (1, 8, 8)),
    "blur-even-kernel": _blur,
    "motion-blur": _spec("motion_blur:5:0.5", (1, 8, 8)),
    "sr2": lambda b, g: AveragePool((2, 8, 8), 2),
    "sr4": _spec("sr:4", (1, 8, 8)),
    "dense-rank2": lambda b, g: DenseMatrix(_rank2(b, g)),
    "stacked-motion-blur": lambda b, g: _stack(_spec("motion_blur:5:0.5", (1, 8, 8)), b, g),
    "stacked-sr2": lambda b, g: _stack(lambda _, g_: AveragePool((2, 8, 8), 2), b, g),
}


@pytest.fixture(params=list(FACTORIES), ids=list(FACTORIES))
def factory(request):
    return FACTORIES[request.param]


@pytest.fixture(params=[None, B], ids=["shared", "per-sample"])
def op(request, factory):
    return factory(request.param, torch.Generator().manual_seed(0))


def _rand(shape, seed):
    return torch.randn(B, *shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_v_is_orthonormal(op):
    svd, x, x2 = op.svd(), _rand(op.in_shape, 1), _rand(op.in_shape, 2)
    z, z2 = svd.vt(x), svd.vt(x2)
    assert torch.allclose(svd.v(z), x, atol=1e-12)
    inner = (z.conj() * z2).real.flatten(1).sum(1)  # <V^T x, V^T x'> = <x, x'>
    assert torch.allclose(inner, (x * x2).flatten(1).sum(1), atol=1e-10)


def test_forward_and_adjoint_factorise(op):
    svd, x, y = op.svd(), _rand(op.in_shape, 3), op.restrict(_rand(op.out_shape, 4))
    z = svd.vt(x)
    assert torch.allclose(svd.u(svd.s(z) * z), op.forward(x), atol=1e-12)
    uy = svd.ut(y)
    assert torch.allclose(svd.v(svd.s(uy) * uy), op.adjoint(y), atol=1e-12)
    ax = op.forward(x)
    assert torch.allclose(svd.u(svd.ut(ax)), ax, atol=1e-12)  # U U^T = I on the range of A
    norms = svd.ut(ax).abs().pow(2).flatten(1).sum(1)
    assert torch.allclose(norms, ax.pow(2).flatten(1).sum(1), atol=1e-10)  # U^T is an isometry there


def test_singular_values_match_torch_svd(factory):
    op = factory(None, torch.Generator().manual_seed(0))
    if isinstance(op, StackedOperator):
        ops = op.operators  # one matrix per member: its row of singular values
        for i, member in enumerate(ops):
            ours = torch.sort(op.svd().singular_values[i].flatten(), descending=True).values
            assert torch.allclose(ours, torch.sort(member.svd().singular_values.flatten(), descending=True).values)
        return
    s = op.svd().singular_values
    assert s.shape[0] == 1 and s.numel() == op.in_dim and bool((s >= 0).all())
    ref = torch.linalg.svdvals(op.as_matrix())
    ours = torch.sort(s.flatten(), descending=True).values
    assert torch.allclose(ours[: ref.numel()], ref, atol=1e-10)
    assert torch.allclose(ours[ref.numel() :], torch.zeros(1, dtype=ours.dtype), atol=1e-10)


def test_regularized_least_squares_closed_form_equals_cg(op):
    x0, y = _rand(op.in_shape, 6), op.restrict(_rand(op.out_shape, 7))
    for rho in (1e-2, 3.0):
        exact = regularized_least_squares(op, y, x0, rho, svd=op.svd())
        normal = op.adjoint(op.forward(exact)) + rho * exact - op.adjoint(y) - rho * x0
        assert float(normal.abs().max()) < 1e-9  # the closed form solves the normal equations
        cg = regularized_least_squares(op, y, x0, rho, svd=None, iters=500, tol=1e-12)
        assert torch.allclose(cg, exact, atol=1e-7)


def test_operator_without_svd_is_named():
    op = Cumsum()
    assert not op.has_svd and DenseMatrix(torch.eye(2)).has_svd
    with pytest.raises(NoCheapSVDError, match="operator cumsum has no cheap SVD; use dps/mgdm/lavps/diffpir"):
        op.svd()
    assert issubclass(NoCheapSVDError, ValueError)


def test_tiny_singular_values_are_dropped_relative_to_the_largest():
    a = _rank2(None, torch.Generator().manual_seed(0)) * 1e-6  # scale-free: the rule is relative
    s = DenseMatrix(a).svd().singular_values
    assert int((s > 0).sum()) == 2 and float(torch.linalg.svdvals(a)[2]) > 0  # torch keeps ~1e-21 noise
    assert int((DenseMatrix(a[:, :5] @ torch.eye(5, dtype=a.dtype) * 1e3).svd().singular_values > 0).sum()) == 2


def test_ddrm_on_a_rank2_5x20_matrix_equals_ddrm_on_its_2x20_equivalent():
    """y5 = M A2 x + n with M (5, 2) orthonormal columns: the posterior is that of (A2, M^T y5); DDRM draws its
    noise in signal space, so with the null space of A5 exactly rank 3..5 its samples are the 2x20 ones."""
    from lavps.operators import GaussianNoise, InverseProblem
    from lavps.priors.gmm import grid_mixture
    from lavps.samplers.registry import build_sampler

    g = torch.Generator().manual_seed(0)
    prior = grid_mixture(20, generator=g)
    a2 = torch.randn(2, 20, generator=g, dtype=torch.float64)
    m, _ = torch.linalg.qr(torch.randn(5, 2, generator=g, dtype=torch.float64))
    y5 = (m @ a2 @ prior.sample(1, g)[0].double() + 0.5 * torch.randn(5, generator=g, dtype=torch.float64))[None]
    samples = []
    for a, y in ((m @ a2, y5), (a2, y5 @ m)):
        problem = InverseProblem(y.float(), DenseMatrix(a), GaussianNoise(0.5))
        samples.append(build_sampler("ddrm", prior, {"ddrm_steps": 20}).sample(problem, 64, seed=0).samples)
    assert torch.allclose(samples[0], samples[1], atol=1e-4)
