"""Sampler properties on small exact problems: accuracy against the exact posterior, determinism,
batch independence, cost counts and clear errors."""

import dataclasses

import pytest
import torch

from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.metrics import sliced_wasserstein
from lavps.operators import DenseMatrix, GaussianNoise, InverseProblem, OperatorShapeError
from lavps.samplers import DDIM, DPS, MGDM, TauRule, VISettings, WindowSchedule

FAST_MGDM = VISettings(steps=30, adam_steps=WindowSchedule(3, 8, 10), lr=WindowSchedule(0.3, 0.3, 10))


@pytest.fixture(scope="module")
def problem():
    return make_gmm_problem(dim=4, obs_dim=2, seed=0)


def _sw(samples, reference):
    return sliced_wasserstein(samples, reference, 100, seed=0)


def test_ddim_reproduces_the_prior(problem):
    g = torch.Generator().manual_seed(0)
    ref, ref2 = problem.prior.sample(1500, g), problem.prior.sample(1500, g)
    floor = _sw(ref, ref2)
    out = DDIM(problem.prior, steps=100).sample(None, 1500, seed=1).samples
    assert _sw(out, ref) < 2.5 * floor + 0.1


@pytest.mark.parametrize(
    "make",
    [
        lambda p: DPS(p, steps=300, zeta=0.03),
        lambda p: MGDM(p, FAST_MGDM),
        lambda p: MGDM(p, dataclasses.replace(FAST_MGDM, restart_zeta=1.0)),
        lambda p: MGDM(p, dataclasses.replace(FAST_MGDM, final_tau=10)),
    ],
    ids=["dps", "mgdm", "mgdm-restart", "mgdm-final-tau"],
)
def test_guided_samplers_beat_the_prior(problem, make):
    g = torch.Generator().manual_seed(0)
    ref = problem.posterior.sample(800, g)
    prior_row = _sw(problem.prior.sample(800, g), ref)
    out = make(problem.prior).sample(problem.problem, 800, seed=2).samples
    assert _sw(out, ref) < 0.1 * prior_row


@pytest.mark.parametrize(
    "make",
    [
        lambda p: DDIM(p, 20),
        lambda p: DPS(p, 20, zeta=0.1),
        lambda p: MGDM(p, FAST_MGDM),
        lambda p: MGDM(p, VISettings(steps=20, tau=TauRule("mix", 5, 8), n_reps=2, adam_steps=WindowSchedule(2, 3, 5))),
        lambda p: MGDM(p, VISettings(steps=20, adam_steps=WindowSchedule(2, 3, 5), restart_zeta=0.6)),
        lambda p: MGDM(p, VISettings(steps=20, adam_steps=WindowSchedule(2, 3, 5), final_tau=20)),
    ],
    ids=["ddim", "dps", "mgdm", "mgdm-mix", "mgdm-restart", "mgdm-final-tau"],
)
def test_determinism_and_batch_independence(problem, make):
    """Same seed, same samples; sample 0 does not depend on its batch-mates' observations."""
    sampler = make(problem.prior)
    gen = torch.Generator().manual_seed(9)
    y = torch.randn(3, 2, generator=gen) * 10
    op = problem.problem.operator
    prob = InverseProblem(y, op, problem.problem.noise)
    y2 = y.clone()
    y2[1:] = torch.randn(2, 2, generator=gen) * 10
    prob2 = InverseProblem(y2, op, problem.problem.noise)
    seeds = [11, 12, 13]
    a = sampler.sample(prob, 3, seed=seeds).samples
    b = sampler.sample(prob, 3, seed=seeds).samples
    c = sampler.sample(prob2, 3, seed=seeds).samples
    assert torch.equal(a, b)
    assert torch.allclose(a[0], c[0], atol=1e-5)
    if not isinstance(sampler, DDIM):
        assert not torch.allclose(a[1], c[1])
    alone = sampler.sample(InverseProblem(y[:1], op, problem.problem.noise), 1, seed=seeds[:1]).samples
    assert torch.allclose(a[0], alone[0], atol=1e-4)


def test_cost_counts(problem):
    r = DPS(problem.prior, 50).sample(problem.problem, 4, seed=0)
    assert (r.cost.denoiser_forwards, r.cost.denoiser_backwards) == (49, 49)
    s = VISettings(steps=12, adam_steps=WindowSchedule(2, 4, 3), n_reps=1)
    r = MGDM(problem.prior, s).sample(problem.problem, 4, seed=0)
    iters = 12 - 3
    adam = 2 * (iters - 3) + 4 * 3
    assert r.cost.denoiser_backwards == adam
    assert r.cost.denoiser_forwards == 1 + adam + iters
    assert r.cost.seconds > 0


def test_final_tau_adds_one_last_iteration_inside_the_window(problem):
    """final_tau below T_1: one more grid point, the last iteration's tau; the window (counted on the
    uniform grid) keeps its iterations and gains the extra one; at or above T_1 the grid is unchanged."""
    base = VISettings(steps=12, adam_steps=WindowSchedule(2, 4, 3))
    plain = MGDM(problem.prior, base)
    extra = MGDM(problem.prior, dataclasses.replace(base, final_tau=30))
    assert plain.grid[1] == 90 and extra.grid.tolist() == [0, 30, *plain.grid[1:].tolist()]
    assert extra.plan()[-1] == (int(plain.grid[2]), 90, 30) and extra.plan()[:-1] == plain.plan()
    r = extra.sample(problem.problem, 4, seed=0)
    iters = 12 - 3 + 1
    adam = 2 * (iters - 4) + 4 * 4  # the 3 window iterations of the uniform grid + the extra one
    assert (r.cost.denoiser_backwards, r.cost.denoiser_forwards) == (adam, 1 + adam + iters)
    for unchanged in (90, 500):  # the grid already ends at or below final_tau
        assert MGDM(problem.prior, dataclasses.replace(base, final_tau=unchanged)).grid.tolist() == plain.grid.tolist()
    with pytest.raises(ValueError, match="final_tau"):
        VISettings(final_tau=0)


def test_denoise_steps_option(problem):
    """denoise_steps = n: each iteration reaches x0 by n denoiser calls (DDIM from tau to 0) instead of one."""
    s = VISettings(steps=10, adam_steps=WindowSchedule(1, 1, 2), denoise_steps=3)
    one = MGDM(problem.prior, dataclasses.replace(s, denoise_steps=1)).sample(problem.problem, 5, seed=0)
    r = MGDM(problem.prior, s).sample(problem.problem, 5, seed=0)
    assert torch.isfinite(r.samples).all()
    iters = 10 - 3  # every iteration's tau >= 3: three distinct times, three calls
    assert r.cost.denoiser_forwards == one.cost.denoiser_forwards + (3 - 1) * iters
    assert r.cost.denoiser_backwards == one.cost.denoiser_backwards
    assert not torch.allclose(r.samples, one.samples)


def test_clear_errors(problem):
    prior = problem.prior
    with pytest.raises(OperatorShapeError, match="prior"):
        MGDM(prior, FAST_MGDM).sample(
            InverseProblem(torch.zeros(1, 2), DenseMatrix(torch.randn(2, 5)), GaussianNoise(1.0)), 2
        )
    with pytest.raises(ValueError, match="needs an inverse problem"):
        DPS(prior, 10).sample(None, 2)
    with pytest.raises(OperatorShapeError, match="observations"):
        DPS(prior, 10).sample(InverseProblem(torch.zeros(3, 2), problem.problem.operator, GaussianNoise(1.0)), 2)
    with pytest.raises(ValueError, match="seeds"):
        DPS(prior, 10).sample(problem.problem, 2, seed=[1, 2, 3])
    with pytest.raises(ValueError, match="n_reps"):
        VISettings(n_reps=0)
    with pytest.raises(ValueError, match="restart_zeta"):
        VISettings(restart_zeta=1.5)
    with pytest.raises(ValueError, match="tau rule"):
        TauRule("sometimes")
