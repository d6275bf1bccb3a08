"""Calibration metrics: exact answers when truth and samples share a distribution, the right direction
when the samples are too wide or too narrow, exact Gaussian-mixture posteriors, TARP cross-check."""

import pytest
import torch

from lavps.evaluation.calibration import (
    CalibrationConfig,
    calibration_report,
    expected_coverage,
    randomized_ranks,
    tarp_credibility,
    wilson_interval,
)
from lavps.evaluation.gmm_problems import make_gmm_problem

PROBLEMS, K, DIM = 400, 15, 24


def _draws(scale: float, seed: int = 0, clamp: float | None = None):
    """Truth ~ N(m_p, I) and K samples ~ N(m_p, scale^2 I) per problem (scale 1 = calibrated)."""
    g = torch.Generator().manual_seed(seed)
    centre = 3 * torch.randn(PROBLEMS, 1, DIM, generator=g)
    truth = centre[:, 0] + torch.randn(PROBLEMS, DIM, generator=g)
    samples = centre + scale * torch.randn(PROBLEMS, K, DIM, generator=g)
    if clamp is not None:  # many exact ties, as clamped image pixels
        truth, samples = truth.clamp(-clamp, clamp), samples.clamp(-clamp, clamp)
    return samples, truth


def _within_chance(cov) -> bool:
    """Nominal level inside a 99.9% Wilson interval (12 intervals per report: 95% ones fail by chance)."""
    low, high = wilson_interval(cov["coverage"] * cov["n"], cov["n"], z=3.29)
    return low <= cov["level"] <= high


def _coverage(report, stat, level):
    return next(c for c in report["statistics"][stat]["coverage"] if c["level"] == level)


@pytest.mark.parametrize("clamp", [None, 1.0])
def test_calibrated_samples_cover_at_nominal_rates(clamp):
    report = calibration_report(*_draws(1.0, clamp=clamp))
    for stat, entry in report["statistics"].items():
        for cov in entry["coverage"]:
            assert _within_chance(cov), (stat, cov)
        assert entry["uniformity_p"] > 1e-3, stat
        assert sum(entry["rank_histogram"]) == PROBLEMS * entry["components"]
    assert report["tarp"]["ks_p"] > 1e-3
    assert report["tarp"]["max_deviation"] < 0.1


def test_over_dispersed_samples_over_cover_and_under_dispersed_under_cover():
    wide, narrow = calibration_report(*_draws(2.0)), calibration_report(*_draws(0.6))
    for stat in ("projections", "pixels"):
        assert _coverage(wide, stat, 0.8)["low"] > 0.8
        assert _coverage(narrow, stat, 0.8)["high"] < 0.8
        assert wide["statistics"][stat]["uniformity_p"] < 1e-6
        assert narrow["statistics"][stat]["uniformity_p"] < 1e-6
    # too narrow: the truth is farther from the sample mean than the samples (high ranks); too wide: nearer
    assert narrow["statistics"]["distance"]["above_all"] > 0.5
    assert wide["statistics"]["distance"]["mean_u"] < 0.2
    assert narrow["tarp"]["ks_p"] < 1e-6 and wide["tarp"]["ks_p"] < 1e-6


def test_exact_mixture_posterior_samples_are_calibrated():
    samples, truths = [], []
    for seed in range(4):
        gp = make_gmm_problem(8, 2, seed)
        g = torch.Generator().manual_seed(seed)
        draws = gp.posterior.sample(100 * (K + 1), g, dtype=torch.float64).reshape(100, K + 1, 8)
        truths.append(draws[:, 0])
        samples.append(draws[:, 1:])
    report = calibration_report(torch.cat(samples), torch.cat(truths), CalibrationConfig(pixels=8))
    for stat, entry in report["statistics"].items():
        for cov in entry["coverage"]:
            assert _within_chance(cov), (stat, cov)
        assert entry["uniformity_p"] > 1e-3, stat


def _posterior_points_and_fit(shift: float):
    """Exact posterior draws (truth first, then K) of 4 mixture problems, the samples moved by `shift` along
    A^T's first column (the measured direction), and every point's discrepancy to its problem's y."""
    samples, truths, fits = [], [], []
    for seed in range(4):
        gp = make_gmm_problem(8, 2, seed)
        g = torch.Generator().manual_seed(seed)
        draws = gp.posterior.sample(100 * (K + 1), g, dtype=torch.float64).reshape(100, K + 1, 8)
        row = gp.problem.operator.as_matrix()[0]
        draws[:, 1:] += shift * row / row.norm()
        problem = gp.problem.expand(K + 1)
        fits.append(torch.stack([problem.discrepancy(points.float()) for points in draws]))
        truths.append(draws[:, 0])
        samples.append(draws[:, 1:])
    return torch.cat(samples), torch.cat(truths), torch.cat(fits)


def test_the_data_fit_statistic_is_uniform_for_exact_samples_and_flags_samples_that_miss_y():
    samples, truths, fit = _posterior_points_and_fit(0.0)
    report = calibration_report(samples, truths, CalibrationConfig(pixels=8), data_fit=fit)
    entry = report["statistics"]["discrepancy"]
    assert entry["components"] == 1 and entry["uniformity_p"] > 1e-3
    assert all(_within_chance(cov) for cov in entry["coverage"])
    # without data_fit the other statistics and their random draws are unchanged
    plain = calibration_report(samples, truths, CalibrationConfig(pixels=8))
    assert plain["statistics"]["pixels"] == report["statistics"]["pixels"]
    # samples moved off y in the measured direction fit it worse than the truth: x* ranks at the bottom
    moved = calibration_report(*_posterior_points_and_fit(3.0)[:2], data_fit=_posterior_points_and_fit(3.0)[2])
    assert moved["statistics"]["discrepancy"]["mean_u"] < 0.2
    assert moved["statistics"]["discrepancy"]["uniformity_p"] < 1e-6
    with pytest.raises(ValueError, match="data_fit must be"):
        calibration_report(samples, truths, data_fit=fit[:, :3])


def test_ranks_are_the_count_of_samples_below_the_truth():
    samples = torch.tensor([[[0.0], [1.0], [2.0]], [[5.0], [6.0], [7.0]]])
    truth = torch.tensor([[1.5], [9.0]])
    r = randomized_ranks(samples, truth, CalibrationConfig(statistics=("pixels",)))["pixels"]
    assert r.ranks[:, 0].tolist() == [2, 3]
    assert bool(((r.u * 4 >= r.ranks) & (r.u * 4 < r.ranks + 1)).all())


def test_wilson_interval_matches_its_closed_form_and_brackets_the_share():
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-4) and high == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match="same P problems"):
        calibration_report(torch.zeros(3, 4, 2), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="at least 2 samples"):
        calibration_report(torch.zeros(3, 1, 2), torch.zeros(3, 2))
    with pytest.raises(ValueError, match="unknown statistic"):
        CalibrationConfig(statistics=("median",))


def test_tarp_expected_coverage_matches_the_tarp_package():
    tarp = pytest.importorskip("tarp")
    samples, truth = _draws(0.8, seed=3)
    g = torch.Generator().manual_seed(5)
    refs = torch.randn(PROBLEMS, DIM, generator=g, dtype=torch.float64)
    f = tarp_credibility(samples, truth, references=refs)
    ecp, alpha = tarp.get_tarp_coverage(
        samples.double().numpy().transpose(1, 0, 2), truth.double().numpy(), references=refs.numpy(), norm=False
    )
    mine = expected_coverage(f, torch.as_tensor(alpha[1:-1]))
    assert torch.allclose(mine, torch.as_tensor(ecp[1:-1]), atol=1e-9)


def test_soft_mode_masses_of_exact_posterior_samples_match_the_exact_weights():
    gp = make_gmm_problem(8, 1, seed=2)
    samples = gp.posterior.sample(4000, torch.Generator().manual_seed(0), dtype=torch.float64)
    mass = gp.prior.responsibilities(samples).mean(0)
    assert (gp.posterior.weights >= 0.05).sum() >= 2  # a multimodal posterior: the check has teeth
    assert torch.allclose(mass, gp.posterior.weights, atol=0.03)


def test_an_exact_samplers_mode_error_shrinks_as_one_over_root_n():
    from lavps.evaluation.calibration_gmm import exact_mode_error, mode_error

    gp = make_gmm_problem(8, 1, seed=2)
    small, large = exact_mode_error(gp, 100).mean(), exact_mode_error(gp, 1600).mean()
    assert 2.5 < float(small / large) < 6.5  # sqrt(16) = 4
    # a sampler that drops the heaviest mode shows an error far above an exact sampler's noise
    samples = gp.posterior.sample(4000, torch.Generator().manual_seed(1), dtype=torch.float64)
    keep = gp.prior.responsibilities(samples).argmax(1) != int(gp.posterior.weights.argmax())
    assert mode_error(gp, samples[keep][:1600]) > 10 * float(large)


def test_the_gmm_bench_ranks_data_fit_uniformly_for_exact_draws_and_low_for_a_prior_sampler():
    """bench gmm's data-fit statistic: exact posterior samples are calibrated in it; DDIM (a prior sampler that
    ignores y) fits y worse than the truths, which then rank low."""
    from lavps.evaluation.calibration_gmm import GMMCalibrationConfig, run_gmm_calibration
    from lavps.evaluation.gmm_bench import SamplerEntry
    from lavps.samplers.registry import build_sampler

    config = GMMCalibrationConfig(
        dims=(4,), obs_dims=(2,), problems=4, groups=60, samples=9, entries=(SamplerEntry("ddim", "ddim"),),
        sampler_options={"steps": 20},
    )  # fmt: skip
    out = {r["sampler"]: r["report"]["statistics"]["discrepancy"] for r in run_gmm_calibration(
        config, build_sampler, progress=False)["results"]}  # fmt: skip
    assert out["exact"]["uniformity_p"] > 1e-3
    assert all(_within_chance(cov) for cov in out["exact"]["coverage"])
    assert out["ddim"]["mean_u"] < 0.35 and out["ddim"]["uniformity_p"] < 1e-6
