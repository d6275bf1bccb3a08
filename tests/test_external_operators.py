"""Operators from outside: deepinv-style objects (A / A_adjoint) and callable pairs."""

import pytest
import torch

from lavps.operators import (
    AdjointMismatchError,
    ExternalOperator,
    GaussianNoise,
    InverseProblem,
    OperatorShapeError,
    as_operator,
    parse_operator_spec,
)
from lavps.operators.external import check_adjoint

SHAPE = (3, 8, 8)


class Downsample2:
    """A hand-made physics object in deepinv's convention: 2x2 block sums, adjoint = nearest upsampling."""

    def A(self, x):
        return torch.nn.functional.avg_pool2d(x, 2) * 4

    def A_adjoint(self, y):
        return y.repeat_interleave(2, -2).repeat_interleave(2, -1)


class BrokenAdjoint(Downsample2):
    def A_adjoint(self, y):
        return super().A_adjoint(y) / 4  # off by the block size


def _x(seed=0, b=2, dtype=torch.float64):
    return torch.randn(b, *SHAPE, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def test_physics_object_becomes_operator_with_inferred_shape():
    op = as_operator(Downsample2(), SHAPE)
    assert isinstance(op, ExternalOperator)
    assert op.out_shape == (3, 4, 4) and op.name == "Downsample2"
    assert op.adjoint_error < 1e-6
    x = _x()
    assert torch.allclose(op(x), Downsample2().A(x))


def test_adjoint_matches_autograd_and_pinv_is_least_squares():
    op = as_operator(Downsample2(), SHAPE)
    x, y = _x(1), _x(2)[:, :, :4, :4]
    x.requires_grad_(True)
    (vjp,) = torch.autograd.grad((op(x) * y).sum(), x)
    assert torch.allclose(vjp, op.adjoint(y))
    # A A^T = 4 I, so A^+ = A^T / 4 in closed form; CG must find it.
    assert torch.allclose(op.pinv(y), op.adjoint(y) / 4, atol=1e-6)
    assert torch.allclose(op(op.pinv(y)), y, atol=1e-6)


def test_callable_pair_agrees_with_builtin_operator():
    ref = parse_operator_spec("gaussian_blur:3:1.0", SHAPE).sample_one(torch.Generator().manual_seed(0))
    op = as_operator((ref.forward, ref.adjoint), SHAPE, dtype=torch.float64, rtol=1e-10)
    x, y = _x(3), _x(4)
    assert torch.allclose(op(x), ref(x)) and torch.allclose(op.adjoint(y), ref.adjoint(y))
    # CG pseudo-inverse vs the closed-form (FFT) one on an observation in the range of A
    assert torch.allclose(op.pinv(ref(x)), ref.pinv(ref(x)), atol=1e-4)
    problem = InverseProblem(ref(x), op, GaussianNoise(0.1))
    assert torch.allclose(problem.log_likelihood(x), torch.zeros(2, dtype=torch.float64), atol=1e-18)


def test_wrong_adjoint_is_refused_with_the_error_size():
    with pytest.raises(AdjointMismatchError, match=r"BrokenAdjoint: the adjoint is not the adjoint.*tolerance 0\.0001"):
        as_operator(BrokenAdjoint(), SHAPE)
    # the check can be skipped explicitly (then nothing is promised)
    assert as_operator(BrokenAdjoint(), SHAPE, rtol=None).out_shape == (3, 4, 4)


def test_bad_shapes_and_objects_are_clear_errors():
    with pytest.raises(TypeError, match="A_adjoint"):
        as_operator(object(), SHAPE)
    with pytest.raises(OperatorShapeError, match="adjoint returned shape"):
        check_adjoint(Downsample2().A, lambda y: y, SHAPE, (3, 4, 4))
    op = as_operator(Downsample2(), SHAPE)
    with pytest.raises(OperatorShapeError, match="expects signals of shape"):
        op(torch.zeros(1, 1, 8, 8))
    with pytest.raises(TypeError, match="two callables"):
        ExternalOperator(None, None, SHAPE)
