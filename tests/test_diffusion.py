import math

import pytest
import torch

from lavps.diffusion import (
    Schedule,
    bridge_coefficients,
    bridge_sample,
    ddim_step,
    forward_sample,
    grid_with_final_tau,
    restart_sample,
    uniform_grid,
)


@pytest.fixture(scope="module")
def sched():
    return Schedule.linear()


def test_schedule_conventions(sched):
    abar = sched.alphas_cumprod
    assert abar.dtype == torch.float64 and abar.shape == (1001,)
    assert abar[0] == 1.0
    betas = torch.linspace(1e-4, 0.02, 1000, dtype=torch.float64)
    assert torch.allclose(abar[1:], torch.cumprod(1 - betas, 0))
    assert bool((abar[1:] < abar[:-1]).all())
    with pytest.raises(ValueError, match="out of range"):
        sched.abar(1001)


def test_uniform_grid():
    g = uniform_grid(100)
    assert g[0] == 0 and g[-1] == 999 and len(g) == 100
    assert bool((g[1:] > g[:-1]).all())
    with pytest.raises(ValueError):
        uniform_grid(2)
    with pytest.raises(ValueError):
        uniform_grid(1001, 1000)


def test_grid_with_final_tau():
    g = uniform_grid(20)
    assert grid_with_final_tau(g, None) is g and grid_with_final_tau(g, 52) is g and grid_with_final_tau(g, 80) is g
    assert grid_with_final_tau(g, 20).tolist() == [0, 20, *g[1:].tolist()]
    with pytest.raises(ValueError, match="final_tau"):
        grid_with_final_tau(g, 0)


@pytest.mark.parametrize("k", [2, 3, 50, 500, 1000])
def test_bridge_eta1_s0_is_ddpm_posterior(sched, k):
    """q_{k-1 | 0, k} with eta = 1 is the DDPM posterior q(x_{k-1} | x_k, x_0) (k - 1 > 0 = s)."""
    abar = sched.alphas_cumprod
    beta = 1 - abar[k] / abar[k - 1]
    coef = bridge_coefficients(sched, 0, k - 1, k, eta=1.0)
    c0 = math.sqrt(abar[k - 1]) * beta / (1 - abar[k])
    ck = math.sqrt(1 - beta) * (1 - abar[k - 1]) / (1 - abar[k])
    var = (1 - abar[k - 1]) / (1 - abar[k]) * beta
    assert coef.c_s.item() == pytest.approx(float(c0), rel=1e-9)
    assert coef.c_l.item() == pytest.approx(float(ck), rel=1e-9)
    assert coef.std.item() ** 2 == pytest.approx(float(var), rel=1e-9)


def test_bridge_eta0_is_deterministic_ddim(sched):
    coef = bridge_coefficients(sched, 0, 300, 600, eta=0.0)
    assert coef.std.item() == 0.0
    a_t, a_l = sched.abar(300), sched.abar(600)
    assert coef.c_l.item() == pytest.approx(math.sqrt((1 - a_t) / (1 - a_l)), rel=1e-12)


@pytest.mark.parametrize("s,t,l", [(0, 200, 700), (100, 400, 900), (10, 11, 12)])
def test_bridge_composes_with_forward_marginals(sched, s, t, l):
    """x_s ~ q_s(.|x0), x_l ~ q_{l|s}(.|x_s), x_t ~ bridge  =>  x_t ~ q_t(.|x0) (Monte Carlo)."""
    g = torch.Generator().manual_seed(0)
    n = 400_000
    x0 = torch.full((n, 1), 1.5, dtype=torch.float64)
    x_s = forward_sample(sched, x0, s, torch.randn(n, 1, generator=g, dtype=torch.float64))
    a_ls = sched.abar(l) / sched.abar(s)
    x_l = a_ls.sqrt() * x_s + (1 - a_ls).sqrt() * torch.randn(n, 1, generator=g, dtype=torch.float64)
    x_t = bridge_sample(sched, x_s, x_l, s, t, l, 1.0, torch.randn(n, 1, generator=g, dtype=torch.float64))
    assert x_t.mean().item() == pytest.approx(1.5 * sched.abar(t).sqrt().item(), abs=5e-3)
    assert x_t.var().item() == pytest.approx((1 - sched.abar(t)).item(), abs=5e-3)
    # joint with x_l also right: Cov(x_t, x_l) = sqrt(abar_l / abar_t) Var(x_t)
    cov = ((x_t - x_t.mean()) * (x_l - x_l.mean())).mean().item()
    expected = math.sqrt(sched.abar(l) / sched.abar(t)) * (1 - sched.abar(t)).item()
    assert cov == pytest.approx(expected, abs=5e-3)


def test_bridge_per_sample_times(sched):
    s = torch.tensor([0, 5])
    t = torch.tensor([10, 50])
    l = torch.tensor([20, 90])  # noqa: E702
    coef = bridge_coefficients(sched, s, t, l)
    for i in range(2):
        ci = bridge_coefficients(sched, int(s[i]), int(t[i]), int(l[i]))
        assert coef.c_l[i] == ci.c_l and coef.c_s[i] == ci.c_s and coef.std[i] == ci.std


def test_bridge_rejects_bad_order_and_eta(sched):
    with pytest.raises(ValueError, match="s < t < l"):
        bridge_coefficients(sched, 10, 5, 20)
    with pytest.raises(ValueError, match="eta"):
        bridge_coefficients(sched, 0, 5, 20, eta=1.5)


def test_ddim_step_to_zero_returns_prediction(sched):
    x = torch.randn(3, 4)
    x0 = torch.randn(3, 4)
    assert torch.equal(ddim_step(sched, x, x0, 10, 0, 1.0, torch.randn(3, 4)), x0)


def test_restart_sample_ends_are_forward_draw_and_ddim(sched):
    """zeta = 1 forgets x_l (a draw from q(x_t | x0)); zeta = 0 is the deterministic DDIM step."""
    g = torch.Generator().manual_seed(3)
    x0, x_l, noise = (torch.randn(4, 6, generator=g, dtype=torch.float64) for _ in range(3))
    fresh = restart_sample(sched, x0, x_l, 700, 400, 1.0, noise)
    assert torch.allclose(fresh, forward_sample(sched, x0, 400, noise), atol=1e-12)
    ddim = restart_sample(sched, x0, x_l, 700, 400, 0.0, noise)
    assert torch.allclose(ddim, bridge_sample(sched, x0, x_l, 0, 400, 700, 0.0, noise), atol=1e-12)
    with pytest.raises(ValueError, match="zeta"):
        restart_sample(sched, x0, x_l, 700, 400, 1.5, noise)


@pytest.mark.parametrize("zeta", [0.0, 0.3, 1.0])
def test_restart_sample_keeps_the_forward_marginal(sched, zeta):
    """x_l ~ q(x_l | x0)  =>  restart_sample(x0, x_l) ~ q(x_t | x0) for every zeta (Monte Carlo)."""
    g = torch.Generator().manual_seed(1)
    n = 400_000
    x0 = torch.full((n, 1), -0.8, dtype=torch.float64)
    x_l = forward_sample(sched, x0, 800, torch.randn(n, 1, generator=g, dtype=torch.float64))
    x_t = restart_sample(sched, x0, x_l, 800, 300, zeta, torch.randn(n, 1, generator=g, dtype=torch.float64))
    assert x_t.mean().item() == pytest.approx(-0.8 * sched.abar(300).sqrt().item(), abs=5e-3)
    assert x_t.var().item() == pytest.approx((1 - sched.abar(300)).item(), abs=5e-3)
    cov = ((x_t - x_t.mean()) * (x_l - x_l.mean())).mean().item()
    expected = math.sqrt(1 - zeta) * math.sqrt(float((1 - sched.abar(300)) * (1 - sched.abar(800))))
    assert cov == pytest.approx(expected, abs=5e-3)


def test_restart_sample_per_sample_times(sched):
    x0, x_l, noise = (torch.randn(2, 3, generator=torch.Generator().manual_seed(i)) for i in range(3))
    out = restart_sample(sched, x0, x_l, torch.tensor([600, 900]), torch.tensor([100, 500]), 0.5, noise)
    for i, (l, t) in enumerate([(600, 100), (900, 500)]):
        one = restart_sample(sched, x0[i : i + 1], x_l[i : i + 1], l, t, 0.5, noise[i : i + 1])
        assert torch.allclose(out[i : i + 1], one, atol=1e-6)
