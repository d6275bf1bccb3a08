"""The amortizer's forward-KL (mass-covering) term, `lavps.objective.bridge_sample_nll` (issue 18): its value
is the Gaussian negative log-density of exact bridge draws of the TRUE clean x, the zero weight leaves the
training loss as it was, and a positive weight adds exactly lambda times the term."""

import math

import pytest
import torch

import lavps.amortize as am
import lavps.training as tr
import lavps.training.amortizer as amortizer_module
from lavps.amortize.network import time_code
from lavps.objective import BridgePrior, bridge_prior, bridge_sample_nll, negative_elbo
from lavps.training.problems import draw_noised_problem

D = 4


def _config(weight: float) -> tr.TrainConfig:
    return tr.TrainConfig(steps=1, batch_size=8, grid_steps=12, window=5, calibration_weight=weight)


def _net() -> am.MLPAmortizer:
    torch.manual_seed(0)
    return am.MLPAmortizer(D, hidden=16, depth=2, input_kind="grad", signal_scale=10.0)


def test_nll_is_the_expected_gaussian_negative_log_density_of_the_bridge_draws():
    g = torch.Generator().manual_seed(0)
    mu, rho = (
        torch.randn(3, D, generator=g, dtype=torch.float64),
        0.3 * torch.randn(3, D, generator=g, dtype=torch.float64),
    )
    m, log_s = torch.randn(3, D, generator=g, dtype=torch.float64), torch.tensor(math.log(0.4), dtype=torch.float64)
    value = bridge_sample_nll(mu, rho, BridgePrior(m, log_s))
    q = torch.distributions.Normal(mu, rho.exp())
    # closed form: -log q(m*) plus the bridge variance's share s^2 / (2 sigma^2) per coordinate
    exact = -q.log_prob(m).sum(1) + (0.5 * log_s.exp() ** 2 / (2 * rho).exp()).sum(1)
    torch.testing.assert_close(value, exact)
    # and it IS the mean over exact draws x* = m* + s z of -log q(x*)
    draws = m + log_s.exp() * torch.randn(200_000, 3, D, generator=g, dtype=torch.float64)
    monte_carlo = -q.log_prob(draws).sum(2).mean(0)
    torch.testing.assert_close(value, monte_carlo, atol=0.02, rtol=0)
    # a point-mass bridge (s -> 0) leaves the log-density at m*
    torch.testing.assert_close(
        bridge_sample_nll(mu, rho, BridgePrior(m, torch.tensor(-40.0, dtype=torch.float64))), -q.log_prob(m).sum(1)
    )


def _old_loss(net, seed, config, gmm4_preset, gmm4_family):
    """The amortized loss as it was before the calibration term (negative ELBO alone), step by step."""
    g = torch.Generator().manual_seed(seed)
    schedule = gmm4_preset.prior.schedule
    d = draw_noised_problem(config, gmm4_preset, gmm4_family, g, (1, config.window + 1), 1)
    tau = d.grid[d.k]
    z = torch.randn(d.x.shape, generator=g, dtype=d.x.dtype)
    with torch.no_grad():
        x0 = d.prior.denoise(d.x_t, d.t)
        bridge = bridge_prior(schedule, x0, d.x_t, tau, d.t)
    b = d.x.shape[0]
    codes = time_code(schedule, d.t, b, d.x.dtype, d.x.device), time_code(schedule, tau, b, d.x.dtype, d.x.device)
    mu, rho = net.start(d.problem, bridge, d.x_t, x0, schedule.abar(tau), *codes)
    return negative_elbo(mu, rho, z, bridge, tau, d.prior.denoise, d.problem).mean(), d, (mu, rho)


def test_zero_weight_is_the_old_loss_and_a_weight_adds_lambda_times_the_term(gmm4_preset, gmm4_family):
    net = _net()
    old, _, _ = _old_loss(net, 5, _config(0.0), gmm4_preset, gmm4_family)
    zero, metrics = tr.amortized_loss(net, torch.Generator().manual_seed(5), _config(0.0), gmm4_preset, gmm4_family)
    assert torch.equal(zero, old) and metrics["elbo"] == pytest.approx(float(old.detach()))
    weighted, m2 = tr.amortized_loss(net, torch.Generator().manual_seed(5), _config(0.5), gmm4_preset, gmm4_family)
    assert m2["elbo"] == metrics["elbo"] and m2["fkl"] == metrics["fkl"]  # same draws: no extra randomness
    assert float(weighted) == pytest.approx(metrics["elbo"] + 0.5 * metrics["fkl"], rel=1e-6)
    with pytest.raises(ValueError, match="calibration_weight"):
        _config(-1.0)


def test_the_term_uses_the_bridge_of_the_true_clean_x(gmm4_preset, gmm4_family, monkeypatch):
    seen = {}

    def spy(mu, rho, clean_bridge):
        seen["bridge"] = clean_bridge
        return bridge_sample_nll(mu, rho, clean_bridge)

    monkeypatch.setattr(amortizer_module, "bridge_sample_nll", spy)
    net, config = _net(), _config(1.0)
    _, d, _ = _old_loss(net, 7, config, gmm4_preset, gmm4_family)
    tr.amortized_loss(net, torch.Generator().manual_seed(7), config, gmm4_preset, gmm4_family)
    # q(x_tau | x, x_t) of the forward process: the DDPM posterior between tau and t
    schedule = gmm4_preset.prior.schedule
    a_tau, a_t = schedule.abar(d.grid[d.k]).double()[:, None], schedule.abar(d.t).double()[:, None]
    alpha = a_t / a_tau
    mean = (a_tau.sqrt() * (1 - alpha) * d.x.double() + alpha.sqrt() * (1 - a_tau) * d.x_t.double()) / (1 - a_t)
    std = ((1 - a_tau) * (1 - alpha) / (1 - a_t)).sqrt()
    got = seen["bridge"]
    torch.testing.assert_close(got.mean.double(), mean, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(got.log_std.exp().double().expand_as(mean), std.expand_as(mean), rtol=1e-4, atol=1e-6)
    with torch.no_grad():  # not the bridge of the denoiser's estimate D(x_t)
        x0 = d.prior.denoise(d.x_t, d.t)
    assert not torch.allclose(got.mean, bridge_prior(schedule, x0, d.x_t, d.grid[d.k], d.t).mean, atol=1e-3)


def test_training_records_both_terms_and_the_weight_in_the_card(tmp_path, gmm4_preset, gmm4_family):
    config = tr.TrainConfig(
        steps=3,
        batch_size=8,
        grid_steps=12,
        window=5,
        ckpt_every=10,
        out_dir=str(tmp_path / "run"),
        calibration_weight=0.25,
    )
    result = tr.train_amortizer(config, _net().config, gmm4_preset, gmm4_family, progress=False)
    assert len(result.history["fkl"]) == 3 and len(result.history["elbo"]) == 3
    assert result.card["training"]["calibration_weight"] == 0.25
