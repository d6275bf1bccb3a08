"""DPS, MGDM and LAVPS on non-linear measurements and Poisson noise; the Gauss-Newton pieces reduce to the
linear closed forms; DDRM and DiffPIR refuse what they cannot do."""

import pytest
import torch

import lavps.amortize as am
from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.objective import bridge_prior, gauss_newton_start, linearised_log_std, linearised_start
from lavps.operators import (
    DenseMatrix,
    GaussianNoise,
    InverseProblem,
    Mask,
    PoissonNoise,
    as_measurement,
)
from lavps.samplers import DDIM, DPS, MGDM, VISettings, WindowSchedule
from lavps.samplers.ddrm import DDRM
from lavps.samplers.diffpir import DiffPIR
from lavps.samplers.lavps import LAVPS

D = 6


def _bridge(batch=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    gp = make_gmm_problem(dim=D, obs_dim=3, seed=1)
    x0 = torch.randn(batch, D, generator=g, dtype=torch.float64)
    x_t = torch.randn(batch, D, generator=g, dtype=torch.float64)
    return gp, x0, bridge_prior(gp.prior.schedule, x0, x_t, 300, 400)


def test_gauss_newton_start_reproduces_the_linear_closed_form():
    gp, x0, bridge = _bridge()
    g = torch.Generator().manual_seed(5)
    op = DenseMatrix(torch.randn(4, D, generator=g, dtype=torch.float64))
    problem = InverseProblem(torch.randn(3, 4, generator=g, dtype=torch.float64), op, GaussianNoise(0.3))
    abar = gp.prior.schedule.abar(300)
    mu_lin, rho_lin = linearised_start(bridge, x0, abar, problem, iters=30)
    mu_gn, _ = gauss_newton_start(bridge, x0, abar, problem, iters=30)
    torch.testing.assert_close(mu_gn, mu_lin, rtol=1e-6, atol=1e-6)
    # the same map behind autograd (an external measurement) takes the general path and agrees too
    wrapped = InverseProblem(problem.y, as_measurement(op.forward, (D,)), GaussianNoise(0.3))
    assert not wrapped.is_linear_gaussian
    mu_ext, _ = linearised_start(bridge, x0, abar, wrapped, iters=30)
    torch.testing.assert_close(mu_ext, mu_lin, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(wrapped.likelihood_gradient(x0), problem.likelihood_gradient(x0))
    # a diagonal A: Hutchinson's curvature diagonal is exact, so the log-std matches the closed form
    mask = Mask(torch.tensor([1.0, 0, 1, 1, 0, 1], dtype=torch.float64), (D,))
    masked = InverseProblem(mask.forward(x0), as_measurement(mask.forward, (D,)), GaussianNoise(0.3))
    exact = linearised_log_std(bridge, abar, InverseProblem(mask.forward(x0), mask, GaussianNoise(0.3)), x0)
    torch.testing.assert_close(linearised_log_std(bridge, abar, masked, x0, at=x0), exact, rtol=1e-6, atol=1e-6)


def _cubic_problem(seed=2):
    """A GMM prior observed through the monotone non-linear map A(x) = x + x^3 / 64 on 3 coordinates."""
    gp = make_gmm_problem(dim=D, obs_dim=3, seed=seed)
    measure = as_measurement(lambda x: (x + x.pow(3) / 64)[:, :3], (D,), name="cubic")
    y = measure.forward(gp.x_star) + 0.5 * torch.randn(1, 3, generator=torch.Generator().manual_seed(seed))
    return gp, InverseProblem(y, measure, GaussianNoise(0.5))


def _settings():
    return VISettings(steps=12, adam_steps=WindowSchedule(3, 6, 4), lr=WindowSchedule(0.1, 0.1, 4))


def _error(samples, x_star):
    return float((samples - x_star).pow(2).sum(1).mean())


@pytest.mark.parametrize("name", ["dps", "mgdm", "lavps"])
def test_guided_samplers_beat_the_prior_on_a_nonlinear_map(name):
    gp, problem = _cubic_problem()
    if name == "dps":
        sampler = DPS(gp.prior, steps=100, zeta=0.5)
    elif name == "mgdm":
        sampler = MGDM(gp.prior, _settings())
    else:
        sampler = LAVPS(gp.prior, am.MLPAmortizer(D, 16, 2, "linear", 10.0), _settings(), inner_steps=2)
    seeds = list(range(16))
    out = sampler.sample(problem, 16, seed=seeds, per_sample_noise=True)
    prior_samples = DDIM(gp.prior, steps=50).sample(None, 16, seed=seeds, per_sample_noise=True).samples
    assert torch.isfinite(out.samples).all()
    assert _error(out.samples, gp.x_star) < 0.5 * _error(prior_samples, gp.x_star)
    again = sampler.sample(problem, 16, seed=seeds, per_sample_noise=True)
    assert torch.equal(again.samples, out.samples)  # deterministic with seeds
    mates = sampler.sample(problem, 16, seed=[100 + s for s in range(15)] + [15], per_sample_noise=True)
    torch.testing.assert_close(mates.samples[15], out.samples[15])  # batch-mates do not matter


def test_mgdm_and_dps_run_with_poisson_noise():
    gp = make_gmm_problem(dim=D, obs_dim=3, seed=4)
    x_star = gp.x_star / 16  # into the image range, where (a + 1) / 2 is an intensity
    scaled = as_measurement(lambda x: (x / 16)[:, :3], (D,), name="scaled")
    noise = PoissonNoise(50.0)
    y = noise.observe(x_star * 16, scaled, torch.Generator().manual_seed(0))
    problem = InverseProblem(y, scaled, noise)
    for sampler in (MGDM(gp.prior, _settings()), DPS(gp.prior, steps=50, zeta=0.5)):
        out = sampler.sample(problem, 4, seed=[1, 2, 3, 4], per_sample_noise=True)
        assert torch.isfinite(out.samples).all()


@pytest.mark.parametrize("cls", [DDRM, DiffPIR])
def test_closed_form_baselines_refuse_nonlinear_maps_and_poisson_noise(cls):
    gp, problem = _cubic_problem()
    with pytest.raises(ValueError, match="needs a linear operator; cubic is non-linear"):
        cls(gp.prior, steps=5).sample(problem, 1)
    mask = Mask(torch.ones(D), (D,))
    poisson = InverseProblem(torch.zeros(1, D), mask, PoissonNoise(10.0))
    with pytest.raises(ValueError, match="needs Gaussian noise, got poisson:10"):
        cls(gp.prior, steps=5).sample(poisson, 1)


def test_curvature_diagonal_is_unbiased_batch_independent_and_deterministic():
    g = torch.Generator().manual_seed(7)
    a = torch.randn(5, D, generator=g, dtype=torch.float64)
    x = torch.randn(3, D, generator=g, dtype=torch.float64)
    y = torch.randn(3, 5, generator=g, dtype=torch.float64)
    problem = InverseProblem(y, as_measurement(lambda v: v @ a.T.to(v.dtype), (D,)), GaussianNoise(0.5))
    quad = problem.local_quadratic(x)
    exact = (a * a).sum(0) / 0.25  # diag(A^T A) / sigma^2
    estimate = quad.curvature_diagonal(4000)
    torch.testing.assert_close(estimate, exact.expand_as(x), rtol=0.08, atol=0.0)
    assert bool((quad.curvature_diagonal(1) >= 0).all())
    torch.testing.assert_close(quad.curvature_diagonal(8), quad.curvature_diagonal(8), rtol=0, atol=0)
    alone = InverseProblem(problem.y[1:2], problem.operator, problem.noise).local_quadratic(x[1:2])
    torch.testing.assert_close(alone.curvature_diagonal(8), quad.curvature_diagonal(8)[1:2])
    with pytest.raises(ValueError, match="probes"):
        quad.curvature_diagonal(0)


def test_gauss_newton_start_through_a_linear_decoder_is_the_composed_closed_form():
    """A latent measurement z -> A(L z) with a linear 'decoder' L: the Gauss-Newton start in z is exactly
    the linear closed form of the operator A L (the latent prior's path, with the decoder as a callable)."""
    gp, x0, bridge = _bridge()
    g = torch.Generator().manual_seed(11)
    decoder = torch.randn(8, D, generator=g, dtype=torch.float64)
    a = torch.randn(4, 8, generator=g, dtype=torch.float64)
    y = torch.randn(3, 4, generator=g, dtype=torch.float64)
    decode_then_measure = as_measurement(lambda z: (z @ decoder.T.to(z.dtype)) @ a.T.to(z.dtype), (D,))
    composed = InverseProblem(y, decode_then_measure, GaussianNoise(0.3))
    closed = InverseProblem(y, DenseMatrix(a @ decoder), GaussianNoise(0.3))
    abar = gp.prior.schedule.abar(300)
    mu_gn, _ = gauss_newton_start(bridge, x0, abar, composed, iters=30)
    mu_lin, _ = linearised_start(bridge, x0, abar, closed, iters=30)
    torch.testing.assert_close(mu_gn, mu_lin, rtol=1e-6, atol=1e-6)


def test_nonlinear_inner_steps_apply_only_where_the_likelihood_is_not_linear_gaussian():
    """G_in on a non-linear problem is nonlinear_inner_steps (the same run as inner_steps = that number);
    on a linear-Gaussian problem the setting changes nothing, bit for bit."""
    net = am.MLPAmortizer(D, 16, 2, "linear", 10.0)
    seeds = list(range(4))

    def run(problem, prior, **kw):
        return LAVPS(prior, net, _settings(), **kw).sample(problem, 4, seed=seeds, per_sample_noise=True)

    gp, cubic = _cubic_problem()
    ruled = run(cubic, gp.prior, inner_steps=1, nonlinear_inner_steps=3)
    three = run(cubic, gp.prior, inner_steps=3)
    one = run(cubic, gp.prior, inner_steps=1)
    assert torch.equal(ruled.samples, three.samples)
    assert ruled.cost.denoiser_backwards == three.cost.denoiser_backwards > one.cost.denoiser_backwards
    linear = make_gmm_problem(dim=D, obs_dim=3, seed=2)
    assert linear.problem.is_linear_gaussian
    ruled = run(linear.problem, linear.prior, inner_steps=1, nonlinear_inner_steps=3)
    plain = run(linear.problem, linear.prior, inner_steps=1)
    assert torch.equal(ruled.samples, plain.samples) and ruled.cost.denoiser_backwards == plain.cost.denoiser_backwards
    with pytest.raises(ValueError, match="nonlinear_inner_steps"):
        LAVPS(gp.prior, net, _settings(), nonlinear_inner_steps=-1)


def test_gauss_newton_start_linearises_hdr_at_its_observation_consistent_point():
    # x0 has a pixel saturated on the wrong side of the clip (zero Jacobian): at x0 itself the Gauss-Newton
    # start cannot see it; at the consistent point (bridge mean moved by sqrt(abar) (x0' - x0)) it can
    from lavps.objective import BridgePrior
    from lavps.operators.nonlinear import HighDynamicRange

    op = HighDynamicRange((1, 2, 2), 2.0)
    x0 = torch.tensor([[[[0.9, -0.9], [0.9, 0.1]]]], dtype=torch.float64)
    y = torch.tensor([[[[1.0, 1.0], [0.3, -0.2]]]], dtype=torch.float64)  # [0, 1]: x0 on the wrong side
    problem = InverseProblem(y, op, GaussianNoise(0.05))
    bridge = BridgePrior(torch.zeros_like(x0), torch.full_like(x0, -1.0))
    abar = torch.tensor(0.5, dtype=torch.float64)
    mu, rho = gauss_newton_start(bridge, x0, abar, problem, iters=30)
    moved = problem.consistent_point(x0)
    shifted = BridgePrior(bridge.mean + abar.sqrt() * (moved - x0), bridge.log_std)
    plain = InverseProblem(y, as_measurement(op.forward, (1, 2, 2)), GaussianNoise(0.05))  # default: no move
    mu_at, rho_at = gauss_newton_start(shifted, moved, abar, plain, iters=30)
    torch.testing.assert_close(mu, mu_at)
    torch.testing.assert_close(rho, rho_at)
    assert mu[0, 0, 0, 1] > 0 > x0[0, 0, 0, 1]  # the wrong-side pixel's start is on the observed side
    wrong, _ = gauss_newton_start(bridge, x0, abar, plain, iters=30)
    assert wrong[0, 0, 0, 1] == bridge.mean[0, 0, 0, 1]  # blind at x0: the prior's mean, untouched
