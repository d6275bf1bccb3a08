"""`inner_taus`: LAVPS's Adam steps after the guard only where LOW <= tau < HIGH. The full range is the sampler
unchanged, an empty one is G_in = 0, and a split range spends the backward passes of its own iterations only."""

import pytest
import torch

import lavps.amortize as am
from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.samplers.lavps import LAVPS, LAVPSConfig
from lavps.samplers.registry import build_sampler

D = 4
BASE = dict(steps=12, window=5, adam_out=1, lr=0.05, inner_steps=2, candidates=("network", "zero_shot"))


@pytest.fixture(scope="module")
def gp():
    return make_gmm_problem(dim=D, obs_dim=1, seed=5)


def _draw(gp, **fields):
    torch.manual_seed(0)
    net = am.MLPAmortizer(D, hidden=16, depth=2, input_kind="grad", signal_scale=10.0)
    sampler = build_sampler("lavps", gp.prior, {**BASE, **fields}, amortizer=net)
    return sampler.sample(gp.problem, 6, seed=3)


def test_the_full_range_is_the_sampler_unchanged_and_an_empty_one_takes_no_inner_step(gp):
    default, full = _draw(gp), _draw(gp, inner_taus=(0, 1000))
    assert torch.equal(default.samples, full.samples)
    none = _draw(gp, inner_taus=(999, 1000))  # no window iteration has tau >= 999
    zero = _draw(gp, inner_steps=0)
    assert torch.equal(none.samples, zero.samples)
    assert none.cost.denoiser_backwards == zero.cost.denoiser_backwards < default.cost.denoiser_backwards


def test_a_split_range_pays_only_for_its_own_iterations(gp):
    sampler = build_sampler("lavps", gp.prior, BASE, amortizer=am.MLPAmortizer(D, hidden=8, depth=1))
    window_taus = [int(step[1]) for step in sampler.plan()][-BASE["window"] :]  # steps are (t, tau, next t)
    cut = sorted(window_taus)[len(window_taus) // 2]
    low, high = _draw(gp, inner_taus=(0, cut)), _draw(gp, inner_taus=(cut, 1000))
    zero, full = _draw(gp, inner_steps=0), _draw(gp)
    extra = [r.cost.denoiser_backwards - zero.cost.denoiser_backwards for r in (low, high, full)]
    assert extra[0] > 0 and extra[1] > 0 and extra[0] + extra[1] == extra[2]


@pytest.mark.parametrize("taus", [(5, 5), (10, 2), (0, 1001), (-1, 10), (1, 2, 3)])
def test_bad_ranges_are_refused(taus):
    with pytest.raises(ValueError, match="inner_taus"):
        LAVPSConfig(inner_taus=taus).check()


def test_the_sampler_class_refuses_a_bad_range(gp):
    with pytest.raises(ValueError, match="inner_taus"):
        LAVPS(gp.prior, am.MLPAmortizer(D, hidden=8, depth=1), inner_taus=(3, 3))
