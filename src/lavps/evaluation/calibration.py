"""Calibration of posterior samplers: where does the truth fall among K posterior samples?

Simulation-based calibration (Talts et al. 2018, arXiv:1804.06788): if x* and K samples are exchangeable
draws of the same posterior, the rank of x* among the K samples under any statistic is uniform on
{0, ..., K}. Ties (clamped pixels) are broken at random and the rank is spread over its cell,
u = (rank + U) / (K + 1) with U ~ U(0, 1), so that u is exactly U(0, 1) under calibration.

Every statistic here is a symmetric function of the K + 1 points of a problem (pixels picked by the
variance of all K + 1, distances to the mean of all K + 1, reference points drawn from the box of all
points), so the truth and the samples stay exchangeable and the uniformity holds exactly.

- coverage of the central credible interval at level q: the share of |u - 1/2| <= q / 2 (nominal q).
  Over-dispersed samples give more than q, over-confident (too narrow) samples less.
- binomial interval: Wilson's, with n = the number of problems (the components of one statistic in one
  problem, e.g. 16 projections, are correlated; counting each problem once is the conservative choice).
- uniformity test: Pearson's chi-square on equiprobable bins of u, one test per component (each over
  independent problems), combined over a statistic's components by Bonferroni (valid under any
  dependence between them).
- TARP (Lemos, Coogan et al. 2023, "Sampling-Based Accuracy Testing of Posterior Estimators",
  arXiv:2302.03026): per problem a random reference point r; f = the share of samples closer to r than
  x* is; the expected coverage ECP(a) = P(f < a) equals a for a calibrated sampler.
- data fit ("discrepancy", when the caller passes `data_fit`): each point's discrepancy to the problem's y
  (`InverseProblem.discrepancy`). A statistic may depend on y: given y, x* and the samples are still
  exchangeable draws of the posterior, so x*'s rank stays uniform. The geometric statistics barely see the
  measured subspace (sr:4 measures 1 of every 16 pixel directions); this one sees only it: samples that fit
  y worse than the truth does put x* at the bottom.
- energy score (Gneiting & Raftery 2007): ES = E||X - x*|| - 1/2 E||X - X'||, X, X' independent samples. It is
  strictly proper: its expectation over x* ~ the true posterior is smallest for the true posterior itself, so
  it scores accuracy and spread together. A sampler that is sharper than the posterior (a higher one-sample
  PSNR bought by over-confidence) or wider than it both score worse. Lower is better; reported in RMS units
  (norms / sqrt(D)), with the unbiased estimator over the K samples' distinct pairs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from scipy import stats

__all__ = [
    "LEVELS",
    "STATISTICS",
    "CalibrationConfig",
    "StatisticRanks",
    "calibration_report",
    "data_fit",
    "central_coverage",
    "energy_score",
    "expected_coverage",
    "randomized_ranks",
    "spread_ratio",
    "statistic_values",
    "tarp_credibility",
    "uniformity_pvalue",
    "wilson_interval",
]

LEVELS = (0.5, 0.8, 0.9, 0.95)
STATISTICS = ("projections", "pixels", "distance")
_Z95 = 1.959963984540054


@dataclass(frozen=True)
class CalibrationConfig:
    """projections: random unit directions; pixels: highest-variance coordinates; alphas: TARP's grid."""

    statistics: tuple[str, ...] = STATISTICS
    projections: int = 16
    pixels: int = 64
    levels: tuple[float, ...] = LEVELS
    alphas: int = 21
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = [s for s in self.statistics if s not in STATISTICS]
        if unknown or not self.statistics:
            raise ValueError(f"unknown statistic(s) {unknown or '(none)'}; allowed: {', '.join(STATISTICS)}")
        if self.projections < 1 or self.pixels < 1 or self.alphas < 3:
            raise ValueError(
                f"need projections >= 1, pixels >= 1, alphas >= 3; got {self.projections}, {self.pixels}, {self.alphas}"
            )
        if not all(0.0 < q < 1.0 for q in self.levels):
            raise ValueError(f"credible levels must be in (0, 1), got {list(self.levels)}")


@dataclass(frozen=True)
class StatisticRanks:
    """ranks: (P, S) integers in [0, K]; u: (P, S) randomised normalised ranks in (0, 1)."""

    name: str
    ranks: torch.Tensor
    u: torch.Tensor
    num_samples: int


def _points(samples: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """(P, K + 1, D) float64: the truth at index 0, then the K samples."""
    if samples.ndim < 3 or truth.ndim < 2 or samples.shape[0] != truth.shape[0]:
        raise ValueError(
            f"expected samples (P, K, ...) and truth (P, ...) for the same P problems, got "
            f"{tuple(samples.shape)} and {tuple(truth.shape)}"
        )
    if tuple(samples.shape[2:]) != tuple(truth.shape[1:]):
        raise ValueError(f"samples {tuple(samples.shape[2:])} and truth {tuple(truth.shape[1:])} differ in shape")
    if samples.shape[1] < 2:
        raise ValueError(f"calibration needs at least 2 samples per problem, got {samples.shape[1]}")
    p, k = samples.shape[:2]
    pts = torch.cat([truth.reshape(p, 1, -1), samples.reshape(p, k, -1)], dim=1).double()
    if not bool(torch.isfinite(pts).all()):
        raise ValueError("samples or truth contain NaN or inf")
    return pts


def statistic_values(points: torch.Tensor, name: str, config: CalibrationConfig) -> torch.Tensor:
    """(P, K + 1, S) values of a statistic for points (P, K + 1, D); symmetric in the K + 1 points."""
    p, n, d = points.shape
    if name == "projections":
        g = torch.Generator().manual_seed(config.seed)
        dirs = torch.randn(d, config.projections, generator=g, dtype=torch.float64)
        return points @ (dirs / dirs.norm(dim=0, keepdim=True))
    if name == "pixels":
        top = points.var(dim=1).topk(min(config.pixels, d), dim=1).indices  # (P, S)
        return torch.gather(points, 2, top[:, None, :].expand(p, n, top.shape[1]))
    if name == "distance":
        return (points - points.mean(dim=1, keepdim=True)).norm(dim=2, keepdim=True)
    raise ValueError(f"unknown statistic {name!r}; allowed: {', '.join(STATISTICS)}")


def _rank_of_first(values: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Rank of index 0 among indices 1..K along dim 1 (ties at random), and u = (rank + U) / (K + 1)."""
    truth, rest = values[:, :1], values[:, 1:]
    k = rest.shape[1]
    below = (rest < truth).sum(1)
    ties = (rest == truth).sum(1)
    spread = torch.rand(below.shape, generator=g, dtype=torch.float64)
    ranks = below + torch.floor(spread * (ties + 1)).long()
    jitter = torch.rand(below.shape, generator=g, dtype=torch.float64)
    return ranks, (ranks + jitter) / (k + 1)


def randomized_ranks(
    samples: torch.Tensor,
    truth: torch.Tensor,
    config: CalibrationConfig | None = None,
    data_fit: torch.Tensor | None = None,
) -> dict[str, StatisticRanks]:
    """Ranks of the truth among the samples for every statistic of the config, then "discrepancy" when
    `data_fit` is given.

    Args:
        samples: (P, K, ...) K posterior samples of P problems; truth: (P, ...) the x* of each problem.
        data_fit: (P, K + 1) each point's discrepancy to its problem's y, the truth's first.
    """
    config = config or CalibrationConfig()
    pts = _points(samples, truth)
    g = torch.Generator().manual_seed(config.seed + 1)
    out = {}
    for name in config.statistics:
        ranks, u = _rank_of_first(statistic_values(pts, name, config), g)
        out[name] = StatisticRanks(name, ranks, u, pts.shape[1] - 1)
    if data_fit is not None:
        if tuple(data_fit.shape) != tuple(pts.shape[:2]):
            raise ValueError(f"data_fit must be (P, K + 1) = {tuple(pts.shape[:2])}, got {tuple(data_fit.shape)}")
        if not bool(torch.isfinite(data_fit).all()):
            raise ValueError("data_fit contains NaN or inf")
        ranks, u = _rank_of_first(data_fit.double()[:, :, None], g)  # after the others: their draws unchanged
        out["discrepancy"] = StatisticRanks("discrepancy", ranks, u, pts.shape[1] - 1)
    return out


def data_fit(problem, truth: torch.Tensor, samples: torch.Tensor) -> torch.Tensor:
    """(G, K + 1) discrepancies (`InverseProblem.discrepancy`) to one problem's y: per group its truth, then
    its K samples. truth (G, ...), samples (G, K, ...); the `data_fit` argument of `calibration_report`."""
    points = torch.cat([truth[:, None], samples], dim=1)
    flat = points.reshape(-1, *points.shape[2:]).to(problem.y.dtype)
    with torch.no_grad():
        return problem.expand(len(flat)).discrepancy(flat).double().reshape(points.shape[:2])


def wilson_interval(successes: float, n: int, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (successes may be a fractional count)."""
    if n < 1:
        raise ValueError(f"a binomial interval needs n >= 1 trials, got {n}")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def central_coverage(u: torch.Tensor, levels: Sequence[float] = LEVELS) -> list[dict]:
    """Per level q: the share of (problem, component) with |u - 1/2| <= q / 2 and its Wilson interval
    (n = problems, the conservative count: components of one problem are correlated)."""
    problems = u.shape[0]
    out = []
    for q in levels:
        share = float(((u - 0.5).abs() <= q / 2).double().mean())
        low, high = wilson_interval(share * problems, problems)
        out.append(dict(level=q, coverage=share, low=low, high=high, n=problems))
    return out


def uniformity_pvalue(u: torch.Tensor, bins: int | None = None) -> float:
    """Chi-square test of u ~ U(0, 1) per component on `bins` equiprobable bins (default: about 5
    expected counts per bin, 2..20 bins), Bonferroni-combined over the components (columns of u)."""
    problems = u.shape[0]
    bins = bins or max(2, min(20, problems // 5))
    idx = torch.clamp((u * bins).long(), 0, bins - 1)
    pvalues = []
    for column in idx.T:
        counts = torch.bincount(column, minlength=bins).double().numpy()
        pvalues.append(float(stats.chisquare(counts).pvalue))
    return min(1.0, len(pvalues) * min(pvalues))


def tarp_credibility(
    samples: torch.Tensor, truth: torch.Tensor, seed: int = 0, references: torch.Tensor | None = None
) -> torch.Tensor:
    """TARP's f per problem: the share of samples closer (Euclidean) to a reference point than the truth.

    references: (P, D); by default drawn uniformly in the box spanned by every point of every problem
    (a symmetric function of each problem's K + 1 points, so truth and samples stay exchangeable).
    """
    pts = _points(samples, truth)
    if references is None:
        flat = pts.reshape(-1, pts.shape[2])
        low, high = flat.min(0).values, flat.max(0).values
        g = torch.Generator().manual_seed(seed)
        references = low + (high - low) * torch.rand(pts.shape[0], pts.shape[2], generator=g, dtype=torch.float64)
    dist = (pts - references.double().reshape(pts.shape[0], 1, -1)).norm(dim=2)
    return (dist[:, 1:] < dist[:, :1]).double().mean(1)


def expected_coverage(f: torch.Tensor, alphas: torch.Tensor) -> torch.Tensor:
    """TARP's expected coverage probability ECP(a) = share of problems with f < a, for each a."""
    return (f[None, :] < alphas.double()[:, None]).double().mean(1)


def calibration_report(
    samples: torch.Tensor,
    truth: torch.Tensor,
    config: CalibrationConfig | None = None,
    data_fit: torch.Tensor | None = None,
) -> dict:
    """Everything `lavps bench calibration` reports for one sampler: per statistic the coverage at each
    level, the uniformity p-value, the rank histogram (pooled over components), the mean u (< 1/2:
    the truth sits low, > 1/2 high) and the share of truths beyond every sample; and TARP's ECP curve
    with its largest deviation from the diagonal and a KS p-value of f against uniform. data_fit: as in
    `randomized_ranks` (adds the "discrepancy" statistic). Also the pooled spread ratio and the energy score
    (mean over problems and per problem). Computed on the CPU (its draws, numpy and scipy are there)."""
    config = config or CalibrationConfig()
    samples, truth = samples.cpu(), truth.cpu()
    data_fit = None if data_fit is None else data_fit.cpu()
    ranks = randomized_ranks(samples, truth, config, data_fit)
    energy = energy_score(samples, truth)
    k = samples.shape[1]
    per_stat = {}
    for name, r in ranks.items():
        hist = torch.bincount(r.ranks.reshape(-1), minlength=k + 1)
        per_stat[name] = dict(
            components=r.ranks.shape[1],
            coverage=central_coverage(r.u, config.levels),
            uniformity_p=uniformity_pvalue(r.u),
            rank_histogram=hist.tolist(),
            mean_u=float(r.u.mean()),
            outside=float(((r.ranks == 0) | (r.ranks == k)).double().mean()),
            above_all=float((r.ranks == k).double().mean()),
        )
    f = tarp_credibility(samples, truth, seed=config.seed + 2)
    # f = rank / K is discrete; spread over its cell as the ranks above, ECP(a) = a exactly when calibrated
    g = torch.Generator().manual_seed(config.seed + 3)
    f_cont = (f * k + torch.rand(f.shape, generator=g, dtype=torch.float64)) / (k + 1)
    alphas = torch.linspace(0, 1, config.alphas, dtype=torch.float64)
    ecp = expected_coverage(f_cont, alphas)
    tarp = dict(
        alpha=alphas.tolist(),
        ecp=ecp.tolist(),
        max_deviation=float((ecp - alphas).abs().max()),
        ks_p=float(stats.kstest(f_cont.numpy(), "uniform").pvalue),
    )
    return dict(
        problems=int(samples.shape[0]),
        samples=k,
        statistics=per_stat,
        tarp=tarp,
        spread_ratio=spread_ratio(samples, truth),
        energy_score=float(energy.mean()),
        energy_score_per_problem=energy.tolist(),
    )


def spread_ratio(samples: torch.Tensor, truth: torch.Tensor) -> float:
    """How far the truth sits from the samples' mean, in units of how far the samples sit from it:
    sqrt(sum_p ||x*_p - m_p||^2 / ((K + 1) / (K - 1) sum_p mean_i ||x_pi - m_p||^2)), m_p the mean of problem
    p's K samples. For exchangeable x* and samples E||x* - m||^2 = (1 + 1/K) tr C and E||x_i - m||^2 =
    (1 - 1/K) tr C, so the ratio is 1 for an exact sampler; > 1: the samples are too close together
    (over-confident), < 1: too spread out. Pooled over problems (sums before the ratio), it is a smooth,
    low-noise measure of the spread's scale, where the coverage of the distance statistic counts each
    problem once. samples (P, K, ...), truth (P, ...); K >= 2."""
    k = samples.shape[1]
    if k < 2:
        raise ValueError(f"the spread ratio needs K >= 2 samples per problem, got {k}")
    x = samples.double().flatten(2)
    m = x.mean(1)
    truth_sq = (truth.double().flatten(1) - m).square().sum()
    sample_sq = (x - m[:, None]).square().sum(2).mean(1).sum()
    return float(torch.sqrt(truth_sq / ((k + 1) / (k - 1) * sample_sq)))


def energy_score(samples: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """(P,) energy score of each problem's K samples against its truth, in RMS units (lower is better):
    (mean_i ||x_i - x*|| - sum_{i != j} ||x_i - x_j|| / (2 K (K - 1))) / sqrt(D). Unbiased for
    E||X - x*|| - E||X - X'|| / 2 given x*; its expectation over x* is smallest when the samples follow
    x*'s own law (strict propriety). samples (P, K, ...), truth (P, ...); K >= 2."""
    pts = _points(samples, truth)
    k, d = pts.shape[1] - 1, pts.shape[2]
    to_truth = (pts[:, 1:] - pts[:, :1]).norm(dim=2).mean(1)
    between = torch.cdist(pts[:, 1:], pts[:, 1:], compute_mode="donot_use_mm_for_euclid_dist")  # exact 0 diagonal
    pairs = between.sum((1, 2)) / (k * (k - 1))
    return (to_truth - pairs / 2) / math.sqrt(d)
