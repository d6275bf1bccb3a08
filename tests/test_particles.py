"""Weighted particles around MGDM / LAVPS: exact as K grows on a Gaussian-mixture posterior (closed form),
independent of batch-mates, deterministic, clear errors."""

import pytest
import torch

import lavps.amortize as am
from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.samplers.particles import Particles, prior_variance
from lavps.samplers.registry import build_sampler

SETTINGS = {"steps": 20, "adam_out": 0, "adam_in": 0, "window": 5}


def _blind_mgdm(prior):
    """MGDM with no Adam step: its inner solver returns the kernel itself, so a path ignores y."""
    return build_sampler("mgdm", prior, SETTINGS)


def _mode_error(gp, out):
    return float((gp.prior.responsibilities(out).mean(0) - gp.posterior.weights).abs().max())


def test_bootstrap_weights_move_the_mode_masses_to_the_exact_posterior_weights():
    # the sampler's proposal with no Adam step is the reference kernel: w is the twist ratio, then the
    # exact likelihood; one path is a prior draw, so only a right weight reaches the posterior's modes
    gp = make_gmm_problem(2, 1, seed=3)
    errors = {k: _mode_error(gp, Particles(_blind_mgdm(gp.prior), k, "sampler").sample(gp.problem, 300, 3).samples)
              for k in (1, 8)}  # fmt: skip
    assert errors[1] > 0.2
    assert errors[8] < 0.12 and errors[8] < errors[1] / 3


def test_twisted_particles_converge_to_the_exact_posterior():
    # a bimodal closed-form posterior: the TDS proposal alone (K = 1) is biased; K = 32 weighted particles
    # match the exact mode weights and mean (a wrong incremental weight leaves K = 32 as biased as K = 1)
    # (on a 50-point grid: the chain's own discretisation error on a 20-point one is about 0.05)
    gp = make_gmm_problem(2, 1, seed=3)
    assert (gp.posterior.weights > 0.4).sum() == 2  # two modes of about equal mass
    sampler = build_sampler("mgdm", gp.prior, {**SETTINGS, "steps": 50})
    out = {k: Particles(sampler, k).sample(gp.problem, 400, seed=1).samples for k in (1, 32)}
    errors = {k: _mode_error(gp, x) for k, x in out.items()}
    assert errors[1] > 0.1
    assert errors[32] < 0.06
    spread = gp.posterior.sample(4000, torch.Generator().manual_seed(0)).std(0)
    assert ((out[32].double().mean(0) - gp.posterior.mean()).abs() < 4 * spread / 20).all()


def test_an_output_does_not_depend_on_its_batch_mates_and_repeats_with_its_seed():
    gp = make_gmm_problem(2, 1, seed=0)
    sampler = Particles(_blind_mgdm(gp.prior), 4)
    both = sampler.sample(gp.problem, 2, seed=[11, 12]).samples
    alone = sampler.sample(gp.problem, 1, seed=[12]).samples
    assert torch.allclose(both[1], alone[0], atol=1e-5)
    assert not torch.allclose(both[0], both[1])
    assert torch.equal(sampler.sample(gp.problem, 2, seed=[11, 12]).samples, both)


def test_the_prior_variance_is_read_from_the_denoiser():
    gp = make_gmm_problem(4, 1, seed=0)
    draws = gp.prior.sample(50_000, torch.Generator().manual_seed(0))
    assert prior_variance(gp.prior) == pytest.approx(float(draws.var(0).mean()), rel=0.2)


class _WildAtTheTop:
    """A prior whose x0-prediction at high noise is far off, as a learned one's is (the shipped MNIST prior's
    D(x_999) spans +-26 for images in [-1, 1], and its Tweedie variance probe there is negative, so the twist
    is the sharp likelihood): D(x, t) - 60 x for t >= 900."""

    def __init__(self, prior):
        self.prior = prior

    def __getattr__(self, name):
        return getattr(self.prior, name)

    def denoise(self, x, t):
        high = (torch.as_tensor(t) >= 900).to(x.dtype).reshape(-1, *([1] * (x.ndim - 1)))
        return self.prior.denoise(x, t) - 60.0 * high * x


def test_twisted_particles_stay_finite_when_the_denoiser_is_far_off_at_high_noise():
    # the TDS shift s^2 grad log g goes through D: unbounded, it threw the particles to 1e17 in five steps
    gp = make_gmm_problem(2, 1, seed=0)
    wild = _WildAtTheTop(gp.prior)
    out = Particles(build_sampler("mgdm", wild, {**SETTINGS, "steps": 50}), 4).sample(gp.problem, 8, seed=0)
    spread = float(gp.prior.sample(4000, torch.Generator().manual_seed(0)).abs().max())
    assert torch.isfinite(out.samples).all() and float(out.samples.abs().max()) < 2 * spread


def test_bad_particle_settings_are_named():
    gp = make_gmm_problem(2, 1, seed=0)
    with pytest.raises(ValueError, match="particles must be >= 1"):
        Particles(_blind_mgdm(gp.prior), 0)
    with pytest.raises(ValueError, match="unknown particle proposal 'tds'"):
        Particles(_blind_mgdm(gp.prior), 2, "tds")
    with pytest.raises(TypeError, match="MGDM or LAVPS"):
        Particles(build_sampler("dps", gp.prior, {}), 2)


def test_particles_is_a_setting_of_mgdm_and_lavps():
    gp = make_gmm_problem(2, 1, seed=0)
    sampler = build_sampler("mgdm", gp.prior, {**SETTINGS, "particles": 4})
    assert isinstance(sampler, Particles) and sampler.count == 4
    assert not isinstance(build_sampler("mgdm", gp.prior, SETTINGS), Particles)
    with pytest.raises(ValueError, match="particles"):
        build_sampler("mgdm", gp.prior, {**SETTINGS, "particles": -1})


@pytest.mark.parametrize("proposal", ["twisted", "sampler"])
def test_lavps_takes_particles_with_either_proposal(proposal):
    gp = make_gmm_problem(4, 1, seed=0)
    torch.manual_seed(0)
    net = am.MLPAmortizer(4, hidden=16, depth=2, input_kind="grad", signal_scale=10.0)
    lavps = build_sampler("lavps", gp.prior, {"steps": 12, "window": 5, "inner_steps": 1, "amortizer": net})
    out = Particles(lavps, 3, proposal).sample(gp.problem, 4, seed=0)
    assert out.samples.shape == (4, 4) and torch.isfinite(out.samples).all()
    assert (out.cost.amortizer_forwards > 0) == (proposal == "sampler")  # the sampler's proposal is LAVPS's
