"""Exact-answer tests of the Gaussian-mixture prior: denoiser (Tweedie) and linear-Gaussian posterior."""

import math

import pytest
import torch

from lavps.diffusion import Schedule
from lavps.operators import DenseMatrix, Mask
from lavps.priors import GaussianMixturePrior, grid_mixture


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def small_prior():
    g = _g(3)
    means = torch.randn(4, 3, generator=g, dtype=torch.float64) * 3
    variances = torch.rand(4, 3, generator=g, dtype=torch.float64) + 0.3
    return GaussianMixturePrior(torch.tensor([0.1, 0.2, 0.3, 0.4]), means, variances)


def test_grid_preset_means_and_weights():
    p = grid_mixture(8, generator=_g())
    assert p.num_components == 25 and p.shape == (8,)
    assert torch.allclose(p.means[0], torch.full((8,), -16.0, dtype=torch.float64))
    assert torch.allclose(p.means[1], torch.tensor([-16.0, -8.0] * 4, dtype=torch.float64))
    assert p.weights.sum().item() == pytest.approx(1.0)
    assert not torch.equal(grid_mixture(8, generator=_g(1)).weights, p.weights)


@pytest.mark.parametrize("t", [0, 20, 300, 900])
def test_denoiser_matches_monte_carlo_tweedie(small_prior, t):
    """D(x_t, t) = E[x0 | x_t], checked by self-normalised importance sampling from the prior."""
    g = _g(t)
    sched = small_prior.schedule
    a = sched.abar(t).item()
    x0 = small_prior.sample(1, g, torch.float64)
    x_t = math.sqrt(a) * x0 + math.sqrt(1 - a) * torch.randn(1, 3, generator=g, dtype=torch.float64)
    exact = small_prior.denoise(x_t, t)
    if t == 0:
        assert torch.allclose(exact, x_t)
        return
    particles = small_prior.sample(400_000, g, torch.float64)
    logw = -((x_t - math.sqrt(a) * particles) ** 2).sum(1) / (2 * (1 - a))
    w = torch.softmax(logw, 0)
    mc = (w[:, None] * particles).sum(0)
    ess = 1 / (w**2).sum()
    tol = 4 * particles.std(0).max() / ess.sqrt() + 1e-3
    assert torch.allclose(exact[0], mc, atol=float(tol))


def test_isotropic_fast_path_equals_general_path():
    p = grid_mixture(6, generator=_g())
    general = GaussianMixturePrior(p.weights, p.means, p.variances * (1 + 1e-12 * torch.rand(25, 6, generator=_g(1))))
    x = torch.randn(5, 6, generator=_g(2)) * 10
    for t in (1, 50, 999, torch.tensor([1, 5, 50, 500, 999])):
        assert torch.allclose(p.denoise(x, t), general.denoise(x, t), atol=1e-4)


def test_exact_posterior_matches_importance_sampling(small_prior):
    g = _g(5)
    a = torch.randn(2, 3, generator=g, dtype=torch.float64)
    op, sigma = DenseMatrix(a), 0.7
    x_star = small_prior.sample(1, g, torch.float64)
    y = (x_star @ a.T + sigma * torch.randn(1, 2, generator=g, dtype=torch.float64))[0]
    post = small_prior.posterior(y, op, sigma)
    particles = small_prior.sample(400_000, g, torch.float64)
    w = torch.softmax(-((y - particles @ a.T) ** 2).sum(1) / (2 * sigma**2), 0)
    is_mean = (w[:, None] * particles).sum(0)
    assert torch.allclose(post.mean(), is_mean, atol=0.05)
    exact_samples = post.sample(200_000, g, torch.float64)
    assert torch.allclose(exact_samples.mean(0), is_mean, atol=0.05)
    is_second = (w[:, None] * particles**2).sum(0)
    assert torch.allclose((exact_samples**2).mean(0), is_second, rtol=0.03, atol=0.05)


def test_posterior_under_mask_ignores_unobserved_coordinates(small_prior):
    """Diagonal components: only coordinate 0 is measured, so each component's posterior is the scalar Kalman
    update there and the prior elsewhere, its weight w_k N(y_0; m_k0, v_k0 + sigma^2), and whatever sits in y's
    unobserved entries changes nothing."""
    op, sigma = Mask(torch.tensor([1.0, 0.0, 0.0])), 0.3
    post = small_prior.posterior(torch.tensor([0.5, 0.0, 0.0]), op, sigma)
    junk = small_prior.posterior(torch.tensor([0.5, 4.0, -7.0]), op, sigma)
    torch.testing.assert_close(junk.log_weights, post.log_weights)
    torch.testing.assert_close(junk.component_means(), post.component_means())
    torch.testing.assert_close(junk.sample(2000, _g(1), torch.float64), post.sample(2000, _g(1), torch.float64))
    m, v = small_prior.means, small_prior.variances
    gain = v[:, 0] / (v[:, 0] + sigma**2)
    torch.testing.assert_close(post.component_means()[:, 0], m[:, 0] + gain * (0.5 - m[:, 0]))
    torch.testing.assert_close(post.component_means()[:, 1:], m[:, 1:])
    log_w = small_prior.weights.log() - 0.5 * (0.5 - m[:, 0]) ** 2 / (v[:, 0] + sigma**2)
    log_w = log_w - 0.5 * (v[:, 0] + sigma**2).log()
    torch.testing.assert_close(post.weights, torch.softmax(log_w, 0))
    s = post.sample(50_000, _g(), torch.float64)
    assert abs(s[:, 0].mean().item() - float(post.mean()[0])) < 4 * s[:, 0].std().item() / 50_000**0.5


def test_posterior_weights_are_stable_for_far_observations():
    p = grid_mixture(80, generator=_g())
    op = DenseMatrix(torch.randn(1, 80, generator=_g(1), dtype=torch.float64))
    post = p.posterior(torch.tensor([1e4]), op, 0.01)
    assert torch.isfinite(post.log_weights).all() and post.weights.sum().item() == pytest.approx(1.0)


def test_bad_mixture_arguments():
    with pytest.raises(ValueError, match="means"):
        GaussianMixturePrior(torch.ones(2), torch.zeros(2, 3, 1))
    with pytest.raises(ValueError, match="weights"):
        GaussianMixturePrior(torch.tensor([1.0, -1.0]), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="variances"):
        GaussianMixturePrior(torch.ones(2), torch.zeros(2, 3), torch.zeros(2))
    with pytest.raises(ValueError, match="shape"):
        grid_mixture(4, generator=_g()).denoise(torch.zeros(2, 5), 10)


def test_schedule_shared():
    assert isinstance(grid_mixture(2, generator=_g()).schedule, Schedule)
