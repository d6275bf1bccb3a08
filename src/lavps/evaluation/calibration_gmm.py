"""Calibration against the exact posterior on the Gaussian-mixture benchmark, and the mass on each mode.

On a GMM problem (`make_gmm_problem`: prior weights, A, x*, y) the posterior is known, so a sampler's
calibration needs no prior draws: its M K samples of p(x | y) are split into M groups of K, and group m
is paired with its own exact posterior draw as the "truth". The M trials of a problem are independent,
so with P problems every statistic gets P M independent ranks (lavps.evaluation.calibration).

Mode masses: every sample's posterior responsibilities p(k | x, y) = p(k | x), averaged over the
sampler's samples; for exact samples this average is unbiased for the exact posterior weight of k. A
problem is multimodal when at least two components carry >= MULTIMODAL_WEIGHT of the exact posterior.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from tqdm.auto import tqdm

from .calibration import CalibrationConfig, calibration_report, data_fit
from .gmm_bench import SamplerEntry
from .gmm_problems import make_gmm_problem
from .stats import mean_ci95

__all__ = [
    "EXACT",
    "GMMCalibrationConfig",
    "MULTIMODAL_WEIGHT",
    "exact_mode_error",
    "mode_error",
    "run_gmm_calibration",
]

EXACT = "exact"
MULTIMODAL_WEIGHT = 0.05


@dataclass(frozen=True)
class GMMCalibrationConfig:
    """groups M and samples K per problem: M K sampler draws, M exact truths."""

    dims: tuple[int, ...] = (8,)
    obs_dims: tuple[int, ...] = (1, 2, 4)
    problems: int = 10
    groups: int = 100
    samples: int = 15
    sigma: float = 1.0
    family: str = "dense"
    entries: tuple[SamplerEntry, ...] = (SamplerEntry("mgdm", "mgdm"),)
    sampler_options: dict = field(default_factory=dict)
    seed: int = 0
    calibration: CalibrationConfig = field(default_factory=lambda: CalibrationConfig(pixels=8))

    def __post_init__(self) -> None:
        if self.problems < 1 or self.groups < 2 or self.samples < 2:
            raise ValueError(
                f"need problems >= 1, groups >= 2, samples >= 2; got {self.problems}, {self.groups}, {self.samples}"
            )
        if not self.dims or not self.obs_dims or min(self.dims) < 1 or min(self.obs_dims) < 1:
            raise ValueError(f"dims and obs_dims must be >= 1, got {list(self.dims)} and {list(self.obs_dims)}")


def mode_error(gp, samples: torch.Tensor) -> float:
    """Largest |mass the samples put on a component - its exact posterior weight| (closed form)."""
    return float((gp.prior.responsibilities(samples).mean(0) - gp.posterior.weights).abs().max())


def exact_mode_error(gp, n: int, repeats: int = 40, generator: torch.Generator | None = None) -> torch.Tensor:
    """`mode_error` of `repeats` independent sets of n exact posterior samples: the error an exact sampler
    shows at n samples (its sampling noise), against which a sampler's error at n samples is read."""
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    resp = gp.prior.responsibilities(gp.posterior.sample(repeats * n, g, dtype=torch.float64))
    return (resp.reshape(repeats, n, -1).mean(1) - gp.posterior.weights).abs().max(1).values


def _mode_masses(gp, samples: torch.Tensor) -> dict:
    exact = gp.posterior.weights
    mass = gp.prior.responsibilities(samples).mean(0)
    return dict(
        max_abs_error=float((mass - exact).abs().max()),
        multimodal=bool((exact >= MULTIMODAL_WEIGHT).sum() >= 2),
        exact_weights=exact.tolist(),
        sampler_mass=mass.tolist(),
    )


def run_gmm_calibration(config: GMMCalibrationConfig, build: Callable, progress: bool = True) -> dict:
    """{"config", "results": per (dim, d_y, row) the calibration report and the mode-mass errors (mean and
    max over problems, all and multimodal ones), "per_problem": the masses}. build(name, prior, options)
    -> Sampler (the registry). The "exact" row is exact posterior samples: what calibration looks like."""
    n = config.groups * config.samples
    labels = [EXACT, *(e.label for e in config.entries)]
    draws = {(d, dy, lab): ([], [], []) for d in config.dims for dy in config.obs_dims for lab in labels}
    per_problem, seconds = [], {}
    total = len(config.dims) * len(config.obs_dims) * config.problems
    bar = tqdm(total=total, desc="gmm calibration", disable=not progress)
    for d in config.dims:
        for dy in config.obs_dims:
            for p in range(config.problems):
                seed = config.seed + p
                gp = make_gmm_problem(d, dy, seed, config.sigma, config.family)
                g = torch.Generator().manual_seed(seed + 7919)
                truths = gp.posterior.sample(config.groups, g, dtype=torch.float64)
                rows = [(EXACT, gp.posterior.sample(n, g, dtype=torch.float64), 0.0)]
                for e in config.entries:
                    sampler = build(e.name, gp.prior, {**config.sampler_options, **e.options})
                    result = sampler.sample(gp.problem, n, seed=seed + 104729)
                    rows.append((e.label, result.samples.double(), result.cost.seconds))
                for label, samples, secs in rows:
                    grouped = samples.reshape(config.groups, config.samples, d)
                    draws[(d, dy, label)][0].append(grouped)
                    draws[(d, dy, label)][1].append(truths)
                    draws[(d, dy, label)][2].append(data_fit(gp.problem, truths, grouped))
                    seconds[(d, dy, label)] = seconds.get((d, dy, label), 0.0) + secs
                    per_problem.append(dict(dim=d, obs_dim=dy, seed=seed, sampler=label, **_mode_masses(gp, samples)))
                bar.update()
    bar.close()
    results = []
    for (d, dy, label), (samples, truths, fits) in draws.items():
        mine = [r for r in per_problem if (r["dim"], r["obs_dim"], r["sampler"]) == (d, dy, label)]
        multi = [r["max_abs_error"] for r in mine if r["multimodal"]]
        err, err_ci = mean_ci95([r["max_abs_error"] for r in mine])
        results.append(
            dict(
                dim=d,
                obs_dim=dy,
                sampler=label,
                mode_error=err,
                mode_error_ci95=err_ci,
                mode_error_max=max(r["max_abs_error"] for r in mine),
                multimodal_problems=len(multi),
                multimodal_mode_error_max=max(multi) if multi else None,
                seconds_per_problem=seconds[(d, dy, label)] / config.problems,
                report=calibration_report(torch.cat(samples), torch.cat(truths), config.calibration, torch.cat(fits)),
            )
        )
    return {"config": asdict(config), "results": results, "per_problem": per_problem}
