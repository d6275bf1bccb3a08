"""The variance temperature of the variational samplers (MGDM, LAVPS): the draw's log-std is rho + log(T) / 2."""

import dataclasses
import math

import pytest
import torch

import lavps.amortize as am
from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.objective import bridge_prior
from lavps.random import make_noise
from lavps.samplers import MGDM, Context, VISettings, WindowSchedule
from lavps.samplers.cost import CountingDenoiser
from lavps.samplers.lavps import LAVPS, LAVPSConfig
from lavps.samplers.mgdm import MGDMConfig

D = 4


@pytest.fixture(scope="module")
def gp():
    return make_gmm_problem(dim=D, obs_dim=1, seed=5)


def settings(temperature: float, inside: int = 2) -> VISettings:
    return VISettings(
        steps=12, adam_steps=WindowSchedule(2, inside, 5), lr=WindowSchedule(0.03, 0.05, 5), temperature=temperature
    )


def untrained() -> am.MLPAmortizer:
    torch.manual_seed(0)
    return am.MLPAmortizer(D, hidden=16, depth=2, input_kind="grad", signal_scale=10.0)


def test_zero_step_draw_is_the_bridge_widened_by_the_temperature(gp):
    """With no Adam step the variational Gaussian is the bridge N(m, s^2): at T its variance is T s^2."""
    b = 3
    problem = gp.problem.expand(b)
    sampler = MGDM(gp.prior, dataclasses.replace(settings(4.0, 0), adam_steps=WindowSchedule(0, 0, 5)))
    ctx = Context(problem, CountingDenoiser(gp.prior), make_noise(0, b), b, (D,), torch.float32)
    x0, x_t = torch.randn(b, D), torch.randn(b, D)
    bridge = bridge_prior(gp.prior.schedule, x0, x_t, 100, 300)
    mu, rho = sampler.variational_step(ctx, bridge, x_t, x0, 100, 300, 0)
    torch.testing.assert_close(mu, bridge.mean)
    torch.testing.assert_close(rho, bridge.log_std.expand_as(mu) + math.log(2.0))


def test_temperature_one_is_the_fitted_gaussian_and_other_values_change_the_draws(gp, monkeypatch):
    base = MGDM(gp.prior, settings(1.0)).sample(gp.problem, 16, seed=3).samples
    default = VISettings(steps=12, adam_steps=WindowSchedule(2, 2, 5), lr=WindowSchedule(0.03, 0.05, 5))
    assert default.temperature == 1.0 and torch.equal(
        MGDM(gp.prior, default).sample(gp.problem, 16, seed=3).samples, base
    )
    with monkeypatch.context() as m:  # the sampler with no tempering at all: the fitted q draws x_tau
        m.setattr(VISettings, "tempered", lambda self, rho, tau, likelihood_precision=None: rho)
        fitted = MGDM(gp.prior, settings(1.0)).sample(gp.problem, 16, seed=3).samples
    assert torch.equal(fitted, base)
    hot = MGDM(gp.prior, settings(3.0)).sample(gp.problem, 16, seed=3).samples
    assert not torch.allclose(hot, base)


@pytest.mark.parametrize("guard", [True, False])
def test_untrained_lavps_at_a_temperature_equals_mgdm_at_it(gp, guard):
    """Both code paths of LAVPS (guard + Adam, network alone) temper the draw as MGDM does."""
    inner = 1 if guard else 0
    ref = MGDM(gp.prior, settings(2.5, inner)).sample(gp.problem, 16, seed=1, per_sample_noise=True)
    lavps = LAVPS(gp.prior, untrained(), settings(2.5, 20), guard=guard, inner_steps=inner)
    out = lavps.sample(gp.problem, 16, seed=1, per_sample_noise=True)
    assert torch.equal(out.samples, ref.samples)


def test_reused_draw_is_scored_at_the_tempered_variance(gp):
    """guard + reuse_draw keeps the scored draw: at T its spread around the candidate's mean is sqrt(T) e^rho."""
    from lavps.samplers.lavps import GuardSettings

    outs = {}
    for t in (1.0, 4.0):
        guard = GuardSettings(True, ("network", "zero_shot"), reuse_draw=True)
        sampler = LAVPS(gp.prior, untrained(), settings(t, 20), guard=guard, inner_steps=0)
        outs[t] = sampler.sample(gp.problem, 64, seed=2).samples
    assert not torch.allclose(outs[1.0], outs[4.0])
    assert float(outs[4.0].std(0).mean()) > float(outs[1.0].std(0).mean())
    # the kept draw itself, same noise at T = 1 and T = 4: the untrained network ties with the zero-shot start
    # (mean m, log-std log s), so x_tau - m is s z at T = 1 and sqrt(4) s z = 2 s z at T = 4
    b, g = 3, torch.Generator().manual_seed(0)
    x0, x_t = torch.randn(b, D, generator=g), torch.randn(b, D, generator=g)
    bridge = bridge_prior(gp.prior.schedule, x0, x_t, 100, 300)
    moved = {}
    for t in (1.0, 4.0):
        guard = GuardSettings(True, ("network", "zero_shot"), reuse_draw=True)
        sampler = LAVPS(gp.prior, untrained(), settings(t, 20), guard=guard, inner_steps=0)
        ctx = Context(gp.problem.expand(b), CountingDenoiser(gp.prior), make_noise(0, b), b, (D,), torch.float32)
        x_tau, _ = sampler.inner_draw(ctx, bridge, x_t, x0, 100, 300, sampler.num_iterations - 1)
        moved[t] = x_tau - bridge.mean
    assert bool((moved[1.0] != 0).all())
    torch.testing.assert_close(moved[4.0], 2 * moved[1.0])


@pytest.mark.parametrize("config", [MGDMConfig, LAVPSConfig])
def test_temperature_setting_is_typed_and_checked(config):
    assert config(temperature=2.0).vi_settings(1).temperature == 2.0
    assert config().vi_settings(1).temperature == 1.0
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="temperature .*--temperature.* > 0"):
            config(temperature=bad)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        VISettings(temperature=0.0)


def test_temperature_applies_above_its_tau_and_temperature_below_under_it(gp):
    """A step schedule: T = temperature at tau >= temperature_above, temperature_below under it (zero Adam steps:
    the draw's log-std is the bridge's plus log(T) / 2); a (B,) tau picks per sample."""
    b = 3
    problem = gp.problem.expand(b)
    split = dataclasses.replace(settings(4.0, 0), adam_steps=WindowSchedule(0, 0, 5), temperature_above=200,
                                temperature_below=1.5)  # fmt: skip
    sampler = MGDM(gp.prior, split)
    ctx = Context(problem, CountingDenoiser(gp.prior), make_noise(0, b), b, (D,), torch.float32)
    x0, x_t = torch.randn(b, D), torch.randn(b, D)
    for tau, temperature in ((100, 1.5), (199, 1.5), (200, 4.0), (300, 4.0)):
        bridge = bridge_prior(gp.prior.schedule, x0, x_t, tau, 400)
        _, rho = sampler.variational_step(ctx, bridge, x_t, x0, tau, 400, 0)
        torch.testing.assert_close(rho, bridge.log_std.expand_as(rho) + 0.5 * math.log(temperature))
    rho = torch.zeros(b, D)
    per_sample = split.tempered(rho, torch.tensor([100, 250, 199]))
    for i, tau in enumerate((100, 250, 199)):
        torch.testing.assert_close(per_sample[i], split.tempered(rho, tau)[i])


def test_unit_temperatures_reproduce_the_untempered_sampler_exactly(gp):
    """temperature 1 on both sides of any threshold is the fitted Gaussian, bit for bit (LAVPS and MGDM)."""
    base = MGDM(gp.prior, settings(1.0)).sample(gp.problem, 8, seed=4).samples
    unit = dataclasses.replace(settings(1.0), temperature_above=300, temperature_below=1.0)
    assert torch.equal(MGDM(gp.prior, unit).sample(gp.problem, 8, seed=4).samples, base)
    ref = LAVPS(gp.prior, untrained(), settings(1.0, 20), guard=False, inner_steps=0).sample(gp.problem, 8, seed=4)
    out = LAVPS(gp.prior, untrained(), dataclasses.replace(unit, adam_steps=WindowSchedule(2, 20, 5)), guard=False,
                inner_steps=0).sample(gp.problem, 8, seed=4)  # fmt: skip
    assert torch.equal(out.samples, ref.samples)
    split = dataclasses.replace(settings(1.0), temperature_above=300, temperature_below=3.0)
    assert not torch.allclose(MGDM(gp.prior, split).sample(gp.problem, 8, seed=4).samples, base)


@pytest.mark.parametrize("config", [MGDMConfig, LAVPSConfig])
def test_temperature_schedule_settings_are_checked(config):
    vi = config(temperature=3.0, temperature_above=500, temperature_below=2.0).vi_settings(1)
    assert (vi.temperature, vi.temperature_above, vi.temperature_below) == (3.0, 500, 2.0)
    for bad in (-1, 1000):
        with pytest.raises(ValueError, match="temperature_above"):
            config(temperature_above=bad)
    with pytest.raises(ValueError, match="temperature_below"):
        config(temperature_below=0.0)
    with pytest.raises(ValueError, match="temperature_below must be > 0"):
        VISettings(temperature_below=-1.0)


def test_prior_only_temperature_keeps_the_likelihoods_precision_and_widens_the_rest():
    """1 / v' = (1 / v - lam)_+ / T + min(1 / v, lam): a pixel the likelihood pins keeps its variance, an
    unmeasured one (lam = 0) is T times wider, and one whose precision is below lam is left as it is."""
    s = dataclasses.replace(settings(3.0), temperature_prior_only=True)
    rho = torch.tensor([[0.0, 0.0, 1.0]])  # precisions 1, 1, e^-2
    lam = torch.tensor([0.0, 0.75, 0.5])
    out = s.tempered(rho, 50, lam)
    precision = torch.exp(-2 * out)[0]
    assert torch.allclose(precision, torch.tensor([1 / 3, 0.25 / 3 + 0.75, math.exp(-2)]), atol=1e-6)
    # no likelihood precision (a non-linear problem) or the flag off: the plain temperature
    assert torch.allclose(s.tempered(rho, 50), rho + 0.5 * math.log(3.0))
    assert torch.allclose(settings(3.0).tempered(rho, 50, lam), rho + 0.5 * math.log(3.0))
    assert torch.equal(dataclasses.replace(s, temperature=1.0).tempered(rho, 50, lam), rho)


def test_prior_only_temperature_leaves_a_masked_pixel_as_the_likelihood_pins_it(gp):
    """MGDM on a coordinate mask: the observed coordinate's draw variance is the same at T = 1 and T = 4
    (the likelihood dominates it), the unobserved ones are 4 times wider."""
    mp = make_gmm_problem(dim=D, obs_dim=1, seed=5, sigma=0.05, family="mask")
    problem = mp.problem.expand(2)
    observed = problem.operator.restrict(torch.ones_like(problem.y[:1])).flatten() > 0
    sampler = {t: MGDM(mp.prior, dataclasses.replace(settings(t), temperature_prior_only=True)) for t in (1.0, 4.0)}
    ctx = Context(problem, CountingDenoiser(mp.prior), make_noise(0, 2), 2, (D,), torch.float32)
    tau = 5
    rho = torch.zeros(2, D)  # variance 1, precision 1 << the likelihood's 1 / (abar 0.05^2)
    widened = {t: s.tempered(ctx, rho, tau) for t, s in sampler.items()}
    gain = torch.exp(2 * (widened[4.0] - widened[1.0]))
    assert torch.allclose(gain[:, ~observed], torch.full_like(gain[:, ~observed], 4.0), rtol=1e-5)
    assert torch.allclose(gain[:, observed], torch.ones_like(gain[:, observed]), rtol=1e-5)
