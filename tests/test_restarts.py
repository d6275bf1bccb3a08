"""Morozov's discrepancy (about 1 at the truth, for Gaussian and Poisson noise) and the Restarts wrapper
that redraws the outputs above a threshold: identity when nothing fails, never worse than the first draw,
independent of batch-mates, deterministic, clear errors."""

import math

import pytest
import torch

from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.operators import GaussianNoise, InverseProblem
from lavps.operators.basic import Identity, Mask
from lavps.operators.poisson import PoissonNoise
from lavps.samplers.registry import build_sampler
from lavps.samplers.restarts import Restarts

SETTINGS = {"steps": 12, "adam_out": 1, "adam_in": 1, "window": 3}


def test_the_truth_has_discrepancy_one_counting_only_the_measured_entries():
    g = torch.Generator().manual_seed(0)
    shape, sigma = (1, 64, 64), 0.05
    mask = Mask((torch.rand(shape, generator=g) < 0.5).float(), shape)
    x = torch.rand((1, *shape), generator=g) * 2 - 1
    y = mask.forward(x + sigma * torch.randn(x.shape, generator=g))
    problem = InverseProblem(y, mask, GaussianNoise(sigma))
    measured = int(mask.mask.sum())
    # chi^2 / d_y of the measured entries: within 4 standard deviations sqrt(2 / d_y) of 1 (the masked
    # zeros would pull an unrestricted mean to about 1/2)
    assert abs(float(problem.discrepancy(x)) - 1.0) < 4 * math.sqrt(2 / measured)
    # an output off by 2 sigma everywhere explains y five times worse
    assert float(problem.discrepancy(x + 2 * sigma)) == pytest.approx(5.0, rel=0.1)


def test_the_truth_has_pearson_discrepancy_one_under_poisson_noise():
    g = torch.Generator().manual_seed(1)
    x = torch.rand((2, 1, 64, 64), generator=g) * 1.2 - 0.6  # rates well above the softplus floor
    noise = PoissonNoise(50.0)
    op = Identity((1, 64, 64))
    problem = InverseProblem(noise.observe(x, op, g), op, noise)
    score = problem.discrepancy(x)
    assert score.shape == (2,)
    assert (score - 1.0).abs().max() < 4 * math.sqrt(2 / 4096)
    assert (problem.discrepancy(x + 0.3) > 1.5).all()


def _mgdm(prior, **extra):
    return build_sampler("mgdm", prior, {**SETTINGS, **extra})


def test_a_threshold_nobody_exceeds_leaves_the_base_sampler_unchanged():
    gp = make_gmm_problem(4, 2, seed=2)
    base = _mgdm(gp.prior)
    plain = base.sample(gp.problem, 5, seed=7)
    wrapped = Restarts(base, 3, 1e9).sample(gp.problem, 5, seed=7)
    assert torch.equal(wrapped.samples, plain.samples)
    assert wrapped.info["restarts"] == [0] * 5
    assert wrapped.cost.denoiser_forwards == plain.cost.denoiser_forwards


def test_every_output_keeps_its_best_draw_and_pays_for_each_redraw():
    gp = make_gmm_problem(4, 2, seed=2)
    base = _mgdm(gp.prior)
    first = base.sample(gp.problem, 6, seed=3)
    out = Restarts(base, 2, 1e-9).sample(gp.problem, 6, seed=3)  # every draw fails: three per output
    assert out.info["restarts"] == [2] * 6
    before = gp.problem.expand(6).discrepancy(first.samples).double()
    after = torch.tensor(out.info["discrepancy"], dtype=torch.float64)
    assert (after <= before + 1e-12).all() and (after < before).any()
    assert torch.allclose(gp.problem.expand(6).discrepancy(out.samples).double(), after, rtol=1e-5)
    assert out.cost.denoiser_forwards == 3 * first.cost.denoiser_forwards


def test_restarted_outputs_do_not_depend_on_their_batch_mates_and_repeat_with_their_seeds():
    gp = make_gmm_problem(4, 2, seed=5)
    sampler = Restarts(_mgdm(gp.prior), 2, 1.0)
    three = sampler.sample(gp.problem, 3, seed=[11, 12, 13])
    assert sum(three.info["restarts"]) > 0  # the check below covers redrawn outputs
    for i, s in enumerate([11, 12, 13]):
        alone = sampler.sample(gp.problem, 1, seed=[s]).samples
        assert torch.allclose(three.samples[i], alone[0], atol=1e-5)
    assert torch.equal(sampler.sample(gp.problem, 3, seed=[11, 12, 13]).samples, three.samples)


def test_the_registry_wraps_mgdm_and_refuses_bad_restart_settings():
    gp = make_gmm_problem(2, 1, seed=0)
    assert isinstance(_mgdm(gp.prior, restarts=2), Restarts)
    with pytest.raises(ValueError, match="restarts"):
        _mgdm(gp.prior, restarts=-1)
    with pytest.raises(ValueError, match="discrepancy"):
        _mgdm(gp.prior, restarts=1, discrepancy=0.0)
    with pytest.raises(ValueError, match="inverse problem"):
        Restarts(_mgdm(gp.prior), 1, 1.1).sample(None, 2)
    with pytest.raises(ValueError, match="seeds"):
        Restarts(_mgdm(gp.prior), 1, 1.1).sample(gp.problem, 2, seed=[1])


def test_a_per_sample_operator_is_redrawn_whole_and_each_output_still_depends_only_on_its_seed():
    # one mask per output: a subset of its rows cannot be served, so every attempt redraws the batch and keeps
    # the failing outputs' draws; an output equals the same output drawn alone with its own mask row
    gp = make_gmm_problem(4, 2, seed=2)
    masks = torch.tensor([[1, 0, 1, 0], [0, 1, 1, 0], [1, 1, 0, 0], [1, 0, 0, 1]], dtype=torch.float32)
    truth = gp.x_star.float() + torch.randn(4, 4, generator=torch.Generator().manual_seed(0))
    y = Mask(masks, (4,)).forward(truth)
    sampler = Restarts(_mgdm(gp.prior), 2, 1.0)
    batch = sampler.sample(InverseProblem(y, Mask(masks, (4,)), GaussianNoise(1.0)), 4, seed=[5, 6, 7, 8])
    assert 0 < sum(batch.info["restarts"]) < 8  # some outputs redrawn, not all every time
    for i, s in enumerate([5, 6, 7, 8]):
        alone = sampler.sample(InverseProblem(y[i : i + 1], Mask(masks[i], (4,)), GaussianNoise(1.0)), 1, seed=[s])
        assert torch.allclose(batch.samples[i], alone.samples[0], atol=1e-5)
        assert batch.info["restarts"][i] == alone.info["restarts"][0]
