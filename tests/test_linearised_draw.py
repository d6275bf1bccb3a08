"""The linearised draw of x_tau (setting `draw`): mu + s e with e of the Gaussian-linearised inner problem's
full covariance (I + c A^T A)^-1, c = s^2 / (abar sigma_y^2), instead of the mean-field e^rho z."""

import dataclasses

import pytest
import torch

import lavps.amortize as am
from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.objective import bridge_prior, linearised_log_std, linearised_noise
from lavps.operators import GaussianNoise, InverseProblem
from lavps.operators.basic import DenseMatrix
from lavps.random import make_noise
from lavps.samplers import MGDM, Context, VISettings, WindowSchedule
from lavps.samplers.cost import CountingDenoiser
from lavps.samplers.lavps import LAVPS, LAVPSConfig
from lavps.samplers.mgdm import MGDMConfig

D = 6


@pytest.fixture(scope="module")
def gp():
    return make_gmm_problem(dim=D, obs_dim=3, seed=7)


def _coupled(batch: int, sigma: float = 0.3) -> InverseProblem:
    """A 3 x 6 operator whose rows each average two coordinates: A^T A is far from diagonal."""
    g = torch.Generator().manual_seed(0)
    a = torch.zeros(3, D)
    for i in range(3):
        a[i, 2 * i], a[i, 2 * i + 1] = 1.0, 1.0
    a = a + 0.1 * torch.randn(3, D, generator=g)
    return InverseProblem(torch.zeros(batch, 3), DenseMatrix(a), GaussianNoise(sigma))


def _exact(problem: InverseProblem, c: float) -> torch.Tensor:
    a = problem.operator.matrix.double()
    return torch.linalg.inv(torch.eye(D, dtype=torch.float64) + c * a.T @ a)


def test_linearised_noise_has_the_inverse_of_the_linearised_precision():
    """Perturb and solve: Cov(e) = (I + c A^T A)^-1, checked against the closed form on 200k draws."""
    n, s, abar, sigma = 200_000, 0.7, 0.5, 0.3
    problem = _coupled(n, sigma)
    bridge = bridge_prior_of(n, s)
    g = torch.Generator().manual_seed(1)
    z, z_y = torch.randn(n, D, generator=g, dtype=torch.float64), torch.randn(n, 3, generator=g, dtype=torch.float64)
    e = linearised_noise(bridge, torch.tensor(abar, dtype=torch.float64), problem, z, z_y)
    cov = e.T @ e / n
    exact = _exact(problem, s**2 / (abar * sigma**2))
    torch.testing.assert_close(cov, exact, atol=0.01, rtol=0.03)
    assert float(e.mean(0).abs().max()) < 0.01
    # the mean-field log-std keeps only the precision's diagonal: it under-states every marginal here
    mean_field = (2 * linearised_log_std(bridge, torch.tensor(abar), problem, z.float()[:1])).exp()[0] / s**2
    assert bool((mean_field.double() < exact.diagonal() * 0.8).all())


def bridge_prior_of(n: int, s: float):
    from lavps.objective import BridgePrior

    return BridgePrior(torch.zeros(n, D, dtype=torch.float64), torch.tensor(s, dtype=torch.float64).log())


def test_linearised_noise_refuses_a_problem_that_is_not_linear_gaussian():
    from lavps.operators.poisson import PoissonNoise

    problem = InverseProblem(torch.ones(2, 3), _coupled(2).operator, PoissonNoise(10.0))
    with pytest.raises(ValueError, match="linear operator with Gaussian noise"):
        linearised_noise(bridge_prior_of(2, 0.5), torch.tensor(0.5), problem, torch.zeros(2, D), torch.zeros(2, 3))


def _settings(draw: str, temperature: float = 1.0) -> VISettings:
    return VISettings(
        steps=12,
        adam_steps=WindowSchedule(0, 0, 5),
        lr=WindowSchedule(0.03, 0.05, 5),
        temperature=temperature,
        draw=draw,
    )


def test_the_sampler_draws_x_tau_with_the_tempered_linearised_covariance(gp):
    """MGDM.draw_x_tau: around mu, covariance T s^2 (I + c A^T A)^-1 (rho unused); diagonal: e^rho z."""
    n, tau, t, temperature = 100_000, 100, 300, 2.0
    problem = gp.problem.expand(n)
    sampler = MGDM(gp.prior, _settings("linearised", temperature))
    ctx = Context(problem, CountingDenoiser(gp.prior), make_noise(0, n), n, (D,), torch.float32)
    x0, x_t = torch.zeros(n, D), torch.zeros(n, D)
    bridge = bridge_prior(gp.prior.schedule, x0, x_t, tau, t)
    mu, rho = torch.full((n, D), 0.25), torch.full((n, D), -5.0)  # rho is ignored by this draw
    x = sampler.draw_x_tau(ctx, bridge, mu, rho, tau).double()
    s2 = float((2 * bridge.log_std).exp())
    abar = float(gp.prior.schedule.abar(tau))
    a = gp.problem.operator.matrix.double()
    if a.ndim == 3:
        a = a[0]
    exact = (
        temperature
        * s2
        * torch.linalg.inv(torch.eye(D, dtype=torch.float64) + s2 / (abar * gp.problem.sigma**2) * a.T @ a)
    )
    d = x - 0.25
    torch.testing.assert_close(d.T @ d / n, exact, atol=0.02 * float(exact.diagonal().max()), rtol=0.05)
    diagonal = MGDM(gp.prior, _settings("diagonal")).draw_x_tau(ctx, bridge, mu, rho, tau)
    assert float((diagonal - 0.25).std()) == pytest.approx(float(torch.tensor(-5.0).exp()), rel=0.02)


def test_linearised_draws_are_deterministic_and_independent_of_batch_mates(gp):
    sampler = MGDM(gp.prior, dataclasses.replace(_settings("linearised"), adam_steps=WindowSchedule(1, 1, 5)))
    problem = gp.problem
    alone = sampler.sample(problem, 1, seed=[11], per_sample_noise=True).samples
    batch = sampler.sample(problem, 3, seed=[5, 11, 9], per_sample_noise=True).samples
    again = sampler.sample(problem, 3, seed=[5, 11, 9], per_sample_noise=True).samples
    torch.testing.assert_close(batch[1:2], alone, rtol=1e-5, atol=1e-6)
    assert torch.equal(batch, again)
    diagonal = MGDM(gp.prior, dataclasses.replace(_settings("diagonal"), adam_steps=WindowSchedule(1, 1, 5)))
    assert not torch.allclose(diagonal.sample(problem, 3, seed=[5, 11, 9], per_sample_noise=True).samples, batch)


def test_a_problem_that_is_not_linear_gaussian_keeps_the_diagonal_draw(gp):
    from lavps.operators.poisson import PoissonNoise

    problem = InverseProblem(gp.problem.y.abs() + 1.0, gp.problem.operator, PoissonNoise(5.0))
    runs = [MGDM(gp.prior, _settings(d)).sample(problem, 4, seed=2).samples for d in ("diagonal", "linearised")]
    assert torch.equal(runs[0], runs[1])


def test_untrained_lavps_with_the_linearised_draw_equals_mgdm_with_it(gp):
    """LAVPS's draw goes through the same method (network alone, no guard, zero-output network)."""
    torch.manual_seed(0)
    net = am.MLPAmortizer(D, hidden=16, depth=2, input_kind="grad", signal_scale=10.0)
    ref = MGDM(gp.prior, _settings("linearised")).sample(gp.problem, 8, seed=1, per_sample_noise=True)
    lavps = LAVPS(gp.prior, net, _settings("linearised"), guard=False, inner_steps=0)
    assert torch.equal(lavps.sample(gp.problem, 8, seed=1, per_sample_noise=True).samples, ref.samples)


@pytest.mark.parametrize(
    ("config", "fields", "message"),
    [
        (MGDMConfig, {"draw": "full"}, "draw"),
        (MGDMConfig, {"draw": "linearised", "particles": 4}, "particles"),
        (MGDMConfig, {"draw": "linearised", "temperature_prior_only": True}, "temperature_prior_only"),
        (LAVPSConfig, {"draw": "linearised", "inner_steps": 0, "reuse_draw": True}, "reuse_draw"),
    ],
)
def test_settings_that_cannot_go_with_the_linearised_draw_are_refused(config, fields, message):
    with pytest.raises(ValueError, match=message):
        config(**fields).check()
