"""Registry-driven property tests for the vector operators and the Gaussian noise model."""

import math

import pytest
import torch

from lavps.operators import (
    CoordinateMaskFamily,
    DenseFamily,
    DenseMatrix,
    GaussianNoise,
    Identity,
    InverseProblem,
    Mask,
    OperatorShapeError,
)


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


FACTORIES = {
    "identity": lambda: Identity((6,)),
    "dense-wide": lambda: DenseMatrix(torch.randn(3, 6, generator=_g(), dtype=torch.float64)),
    "dense-tall": lambda: DenseMatrix(torch.randn(9, 6, generator=_g(1), dtype=torch.float64)),
    "dense-rank-deficient": lambda: DenseMatrix(
        torch.randn(4, 1, generator=_g(2), dtype=torch.float64)
        @ torch.randn(1, 6, generator=_g(3), dtype=torch.float64)
    ),
    "dense-per-sample": lambda: DenseFamily(6, 2).sample(3, _g(4)),
    "mask-vector": lambda: CoordinateMaskFamily(6, 3).sample_one(_g(5)),
    "mask-per-sample": lambda: CoordinateMaskFamily(6, 2).sample(3, _g(6)),
    "mask-image": lambda: Mask((torch.rand(2, 4, 4, generator=_g(7)) > 0.5).float()),
}


def _pair(op, batch=3):
    g = _g(11)
    u = torch.randn(batch, *op.in_shape, generator=g, dtype=torch.float64)
    v = torch.randn(batch, *op.out_shape, generator=g, dtype=torch.float64)
    return u, v


@pytest.mark.parametrize("name", FACTORIES)
def test_adjointness(name):
    op = FACTORIES[name]()
    u, v = _pair(op)
    lhs = (op.forward(u) * v).flatten(1).sum(1)
    rhs = (u * op.adjoint(v)).flatten(1).sum(1)
    assert torch.allclose(lhs, rhs, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", FACTORIES)
def test_adjoint_matches_autograd(name):
    op = FACTORIES[name]()
    u, v = _pair(op)
    u.requires_grad_(True)
    (vjp,) = torch.autograd.grad((op.forward(u) * v).sum(), u)
    assert torch.allclose(vjp, op.adjoint(v), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", FACTORIES)
def test_pseudo_inverse_identity(name):
    """A A^+ A = A (and A^+ A A^+ = A^+)."""
    op = FACTORIES[name]()
    u, v = _pair(op)
    au = op.forward(u)
    assert torch.allclose(op.forward(op.pinv(au)), au, rtol=1e-4, atol=1e-4)
    pv = op.pinv(v)
    assert torch.allclose(op.pinv(op.forward(pv)), pv, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("name", FACTORIES)
def test_batch_independence(name):
    op = FACTORIES[name]()
    u, _ = _pair(op)
    u2 = u.clone()
    u2[1:] = torch.randn_like(u2[1:]) * 10
    assert torch.equal(op.forward(u)[0], op.forward(u2)[0])


def test_dense_pinv_matches_numpy_definition():
    m = torch.randn(3, 5, generator=_g(), dtype=torch.float64)
    op = DenseMatrix(m)
    y = torch.randn(2, 3, generator=_g(1), dtype=torch.float64)
    assert torch.allclose(op.pinv(y), y @ torch.linalg.pinv(m).T)


def test_as_matrix_of_shared_operator():
    m = torch.randn(3, 5, generator=_g(), dtype=torch.float64)
    assert torch.allclose(DenseMatrix(m).as_matrix(), m)
    mask = Mask(torch.tensor([1.0, 0.0, 1.0]))
    assert torch.equal(mask.as_matrix(), torch.diag(torch.tensor([1.0, 0.0, 1.0], dtype=torch.float64)))


def test_wrong_shapes_are_named():
    op = DenseMatrix(torch.randn(2, 5))
    with pytest.raises(OperatorShapeError, match=r"\(B, 5\)"):
        op.forward(torch.randn(3, 4))
    with pytest.raises(OperatorShapeError, match="observations"):
        op.adjoint(torch.randn(3, 3))
    per_sample = DenseFamily(5, 2).sample(3, _g())
    with pytest.raises(OperatorShapeError, match="3 per-sample"):
        per_sample.forward(torch.randn(2, 5))
    with pytest.raises(ValueError, match="0 or 1"):
        Mask(torch.tensor([0.5, 1.0]))


@pytest.mark.parametrize("sigma", [0.0, -1.0, float("nan"), float("inf")])
def test_sigma_must_be_positive_and_finite(sigma):
    with pytest.raises(ValueError, match="sigma_y"):
        GaussianNoise(sigma)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_observation_rejected(bad):
    y = torch.zeros(1, 2)
    y[0, 1] = bad
    with pytest.raises(ValueError, match="NaN or inf"):
        InverseProblem(y, DenseMatrix(torch.randn(2, 4)), GaussianNoise(1.0))


def test_observation_shape_checked():
    with pytest.raises(OperatorShapeError):
        InverseProblem(torch.zeros(1, 3), DenseMatrix(torch.randn(2, 4)), GaussianNoise(1.0))


def test_log_likelihood_and_gradient_closed_form():
    g = _g()
    a = torch.randn(2, 4, generator=g, dtype=torch.float64)
    y = torch.randn(1, 2, generator=g, dtype=torch.float64)
    prob = InverseProblem(y, DenseMatrix(a), GaussianNoise(0.5)).expand(3)
    x = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    ll = prob.log_likelihood(x)
    expected = -((y - x @ a.T) ** 2).sum(1) / (2 * 0.25)
    assert torch.allclose(ll, expected)
    (grad,) = torch.autograd.grad(ll.sum(), x)
    assert torch.allclose(grad, prob.likelihood_gradient(x.detach()))


def test_mask_noise_only_on_observed_entries():
    op = Mask(torch.tensor([1.0, 0.0, 1.0, 0.0]))
    y = GaussianNoise(2.0).measure(torch.ones(5, 4), op, torch.randn(5, 4, generator=_g()))
    assert torch.equal(y[:, 1], torch.zeros(5)) and torch.equal(y[:, 3], torch.zeros(5))
    assert not math.isclose(float(y[:, 0].std()), 0.0)


def test_families_are_seeded():
    f = DenseFamily(6, 2)
    assert torch.equal(f.sample(3, _g(1)).matrix, f.sample(3, _g(1)).matrix)
    assert not torch.equal(f.sample(3, _g(1)).matrix, f.sample(3, _g(2)).matrix)
    m = CoordinateMaskFamily(6, 2).sample(4, _g(3)).mask
    assert torch.equal(m.sum(1), torch.full((4,), 2.0))
