"""The energy score: its definition, the Gaussian CRPS closed form in one dimension, and strict propriety
(the exact posterior scores best, even against a sharper sampler with a smaller one-sample error)."""

import math

import pytest
import torch

from lavps.evaluation.calibration import calibration_report, energy_score


def _naive(samples, truth):
    k, d = samples.shape[1], samples[0, 0].numel()
    out = []
    for xs, t in zip(samples.double(), truth.double(), strict=True):
        to_truth = sum(float((x - t).norm()) for x in xs) / k
        pairs = sum(float((xs[i] - xs[j]).norm()) for i in range(k) for j in range(k) if i != j)
        out.append((to_truth - pairs / (2 * k * (k - 1))) / math.sqrt(d))
    return torch.tensor(out, dtype=torch.float64)


def test_the_energy_score_is_its_pairwise_definition():
    g = torch.Generator().manual_seed(0)
    samples, truth = torch.randn(3, 5, 2, 4, 4, generator=g), torch.randn(3, 2, 4, 4, generator=g)
    assert torch.allclose(energy_score(samples, truth), _naive(samples, truth), atol=1e-12)


@pytest.mark.parametrize("y", [-2.0, 0.3, 1.5])
def test_in_one_dimension_it_is_the_gaussian_crps(y):
    # CRPS(N(mu, s^2), y) = s [z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi)], z = (y - mu) / s
    mu, s, k = 0.5, 1.3, 4000
    samples = mu + s * torch.randn(1, k, 1, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    z = (y - mu) / s
    phi, cdf = math.exp(-z * z / 2) / math.sqrt(2 * math.pi), 0.5 * (1 + math.erf(z / math.sqrt(2)))
    crps = s * (z * (2 * cdf - 1) + 2 * phi - 1 / math.sqrt(math.pi))
    assert float(energy_score(samples, torch.tensor([[y]]))) == pytest.approx(crps, abs=0.03 * s)


def test_the_exact_law_scores_best_although_a_sharper_one_has_the_smaller_one_sample_error():
    problems, k, dim = 400, 15, 24
    g = torch.Generator().manual_seed(2)
    centre = 3 * torch.randn(problems, 1, dim, generator=g)
    truth = centre[:, 0] + torch.randn(problems, dim, generator=g)
    scores, one_sample_mse = {}, {}
    for scale in (0.6, 1.0, 1.6):
        samples = centre + scale * torch.randn(problems, k, dim, generator=g)
        scores[scale] = energy_score(samples, truth)
        one_sample_mse[scale] = float((samples[:, 0] - truth).square().mean())
    for scale in (0.6, 1.6):
        gap = scores[scale] - scores[1.0]  # paired over the same truths
        assert float(gap.mean()) > 4 * float(gap.std() / math.sqrt(problems)), scale
    assert one_sample_mse[0.6] < 0.8 * one_sample_mse[1.0]  # the over-confident sampler wins on PSNR alone


def test_the_report_carries_the_mean_and_per_problem_scores_and_bad_input_is_refused():
    g = torch.Generator().manual_seed(3)
    samples, truth = torch.randn(6, 4, 10, generator=g), torch.randn(6, 10, generator=g)
    report = calibration_report(samples, truth)
    assert report["energy_score_per_problem"] == pytest.approx(energy_score(samples, truth).tolist())
    assert report["energy_score"] == pytest.approx(sum(report["energy_score_per_problem"]) / 6)
    with pytest.raises(ValueError, match="at least 2 samples"):
        energy_score(samples[:, :1], truth)
    bad = truth.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        energy_score(samples, bad)
