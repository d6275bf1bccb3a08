"""The adaptive per-sample inner budget of the Gauss-VI solver (samplers/gauss_vi.py) and of LAVPS's
fallback: per-sample caps and early stops, frozen stopped samples, aligned noise streams, batch independence."""

import pytest
import torch

from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.objective import bridge_prior
from lavps.operators import InverseProblem
from lavps.random import make_noise
from lavps.samplers import Context
from lavps.samplers.cost import CountingDenoiser
from lavps.samplers.gauss_vi import fit_gauss_vi

D, TAU, T = 6, 300, 400


@pytest.fixture(scope="module")
def gp():
    return make_gmm_problem(dim=D, obs_dim=3, seed=2)


def _setup(gp, seeds, ys=None):
    b = len(seeds)
    y = gp.problem.y.expand(b, -1).clone() if ys is None else ys
    problem = InverseProblem(y, gp.problem.operator, gp.problem.noise)
    ctx = Context(problem, CountingDenoiser(gp.prior), make_noise(list(seeds), b), b, (D,), torch.float32)
    g = torch.Generator().manual_seed(7)
    x0 = torch.randn(1, D, generator=g).expand(b, -1)
    x_t = torch.randn(1, D, generator=g).expand(b, -1)
    bridge = bridge_prior(gp.prior.schedule, x0, x_t, TAU, T)
    return ctx, bridge


def _fit(gp, seeds, steps, ys=None, whiten=False, **kw):
    ctx, bridge = _setup(gp, seeds, ys)
    mu, rho = bridge.zero_shot_start()
    out = fit_gauss_vi(ctx, bridge, TAU, mu, rho, steps, 0.05, whiten, **kw)
    return out, ctx


@pytest.mark.parametrize("whiten", [False, True])
def test_full_budget_is_the_plain_solver(gp, whiten):
    (mu_a, rho_a), _ = _fit(gp, [1, 2, 3], 4, whiten=whiten)
    (mu_b, rho_b), _ = _fit(gp, [1, 2, 3], 4, whiten=whiten, budget=torch.tensor([4, 4, 4]))
    assert torch.equal(mu_a, mu_b) and torch.equal(rho_a, rho_b)


@pytest.mark.parametrize("whiten", [False, True])
def test_each_sample_runs_its_own_budget_as_if_alone(gp, whiten):
    seeds, budget = [11, 12, 13, 14], torch.tensor([0, 1, 3, 5])
    (mu, rho), ctx = _fit(gp, seeds, 5, whiten=whiten, budget=budget)
    for i, (seed, steps) in enumerate(zip(seeds, budget.tolist(), strict=True)):
        (mu_i, rho_i), ctx_i = _fit(gp, [seed], steps, whiten=whiten)
        torch.testing.assert_close(mu[i : i + 1], mu_i, atol=1e-5, rtol=0)
        torch.testing.assert_close(rho[i : i + 1], rho_i, atol=1e-5, rtol=0)
    # every stream advanced by the cap (5 draws), so later draws do not depend on the budgets
    _, ctx_full = _fit(gp, seeds, 5)
    assert torch.equal(ctx.randn(), ctx_full.randn())
    assert ctx.denoise.forwards == 5  # the batch ran until its largest budget


def test_tolerance_stops_samples_and_keeps_batch_independence(gp):
    # a huge tolerance: every sample stops at step 1 (its loss cannot fall by 1e9 x itself)
    (mu, rho), ctx = _fit(gp, [5, 6], 6, rel_tol=1e9)
    (mu_1, rho_1), _ = _fit(gp, [5, 6], 1)
    assert torch.equal(mu, mu_1) and torch.equal(rho, rho_1)
    assert ctx.denoise.forwards == 2  # step 0, then step 1's forward finds everyone stopped
    # a realistic tolerance: sample 0 does not depend on its batch-mates' observations
    g = torch.Generator().manual_seed(3)
    ys = torch.randn(3, 3, generator=g) * 3
    other = ys.clone()
    other[1:] = torch.randn(2, 3, generator=g) * 3
    (mu_a, _), _ = _fit(gp, [1, 2, 3], 12, ys=ys, rel_tol=0.02)
    (mu_b, _), _ = _fit(gp, [1, 2, 3], 12, ys=other, rel_tol=0.02)
    (mu_alone, _), _ = _fit(gp, [1], 12, ys=ys[:1], rel_tol=0.02)
    torch.testing.assert_close(mu_a[0], mu_b[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(mu_a[:1], mu_alone, atol=1e-5, rtol=0)


def test_bad_budgets_are_clear_errors(gp):
    with pytest.raises(ValueError, match="budget"):
        _fit(gp, [1, 2], 3, budget=torch.tensor([1, 4]))
    with pytest.raises(ValueError, match="budget"):
        _fit(gp, [1, 2], 3, budget=torch.tensor([1]))
    with pytest.raises(ValueError, match="rel_tol"):
        _fit(gp, [1, 2], 3, rel_tol=-1.0)
