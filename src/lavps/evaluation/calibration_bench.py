"""Simulation-based calibration of image posterior samplers on draws from the prior itself.

Problem p: x*_p from the prior by ancestral sampling (DDIM with eta = 1, `prior_steps` steps, seed
seed + p), the operator drawn from s_p = seed + 10000 + 2 p (random kinds; a deterministic spec or a
file is the same for all), y = A x* + sigma n (noise from s_p + 1, as `lavps.degrade`). Every row then draws K
posterior samples per problem through `lavps.restore` (sample i of problem p: seed 1000 p + i + 1, its
own generator). The prior is then the right answer's prior, so the ranks of x* are uniform for an exact
posterior sampler (lavps.evaluation.calibration). A latent prior's x*_p is decode(z*_p) of its latent draw
z*_p: operators act on its decoded images, and `lavps.restore` returns decoded samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..metrics import psnr, ssim
from ..operators import InverseProblem
from ..priors.latent import LatentPrior
from ..samplers.ddim import DDIM
from .calibration import CalibrationConfig, calibration_report, data_fit
from .stats import mean_ci95

__all__ = [
    "CalibrationRow",
    "ImageCalibrationConfig",
    "calibration_problems",
    "parse_row",
    "prior_draws",
    "run_image_calibration",
]

#: seeds of problem p's samples: SAMPLE_STRIDE * p + i + 1 (never overlapping across problems)
SAMPLE_STRIDE = 1000
#: problem p's operator is drawn from seed + PROBLEM_SEED_OFFSET + 2 p, its noise from the next seed
PROBLEM_SEED_OFFSET = 10_000


@dataclass(frozen=True)
class CalibrationRow:
    """A sampler and its budget preset (None: the sampler's default), with the label it is reported under."""

    label: str
    sampler: str
    preset: str | None = None
    settings: dict = field(default_factory=dict)


def parse_row(text: str) -> CalibrationRow:
    """`SAMPLER` or `SAMPLER:PRESET` (e.g. `lavps`, `lavps:reference`, `ddrm:reference`)."""
    sampler, _, preset = text.partition(":")
    if not sampler:
        raise ValueError(f"bad sampler row {text!r}; expected SAMPLER or SAMPLER:PRESET")
    return CalibrationRow(text, sampler, preset or None)


@dataclass(frozen=True)
class ImageCalibrationConfig:
    operators: tuple[str, ...] = ("sr:4",)
    sigma: float = 0.05
    problems: int = 24
    samples: int = 15
    rows: tuple[CalibrationRow, ...] = (CalibrationRow("lavps", "lavps"),)
    prior_steps: int = 1000
    seed: int = 0
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    noise: str | None = None  # a noise spec (`poisson:PEAK`) instead of Gaussian sigma

    def __post_init__(self) -> None:
        if self.problems < 2 or self.samples < 2:
            raise ValueError(f"need problems >= 2 and samples >= 2, got {self.problems} and {self.samples}")
        if self.samples >= SAMPLE_STRIDE:
            raise ValueError(f"at most {SAMPLE_STRIDE - 1} samples per problem, got {self.samples}")
        if not (math.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"sigma must be a finite number > 0, got {self.sigma}")
        if not self.operators or not self.rows:
            raise ValueError("need at least one operator and one sampler row")
        if self.prior_steps < 3:
            raise ValueError(f"prior_steps must be >= 3 (a DDIM grid), got {self.prior_steps}")


def prior_draws(prior, count: int, steps: int, seed: int, progress: bool = False) -> torch.Tensor:
    """`count` ancestral samples of the prior (DDIM, eta = 1, `steps` steps); draw p uses seed + p. A latent
    prior's are the decoded images of its latent draws (the signals its restores return). On the CPU."""
    sampler = DDIM(prior, steps=steps, eta=1.0)
    draws = sampler.sample(None, count, seed=[seed + p for p in range(count)], progress=progress).samples
    if isinstance(prior, LatentPrior):
        with torch.no_grad():
            draws = prior.decode(draws)
    return draws.float().cpu()  # truths on the CPU whatever the prior's device (degrade, scores, the report)


def calibration_problems(truth: torch.Tensor, spec: str, sigma: float | None, seed: int, noise: str | None = None):
    """[(operator, observation)] of each prior draw in `truth` (P, C, H, W): problem p's operator from seed +
    PROBLEM_SEED_OFFSET + 2 p, its observation y = A x*_p + noise (`lavps.degrade`, the same seed)."""
    from ..api import degrade, operator

    problems = []
    for p in range(truth.shape[0]):
        op_seed = seed + PROBLEM_SEED_OFFSET + 2 * p
        op = operator(spec, tuple(truth.shape[1:]), seed=op_seed)
        problems.append((op, degrade(truth[p], op, sigma, seed=op_seed, noise=noise)))
    return problems


def run_image_calibration(
    config: ImageCalibrationConfig,
    prior,
    progress: bool = True,
    on_row: Callable[[dict], None] | None = None,
    amortizer=None,
) -> dict:
    """{"config", "results": one entry per (operator, row) with its calibration report, one-sample PSNR
    and SSIM to x* (mean, 95% interval) and seconds per sample}. on_row(entry) is called as each row
    finishes. amortizer: LAVPS rows' network or file (None: the shipped one; a file is loaded and checked
    against the prior once, before any work, and recorded by its path)."""
    from ..api import RunOptions, restore

    name = _network_name(amortizer)
    if isinstance(amortizer, (str, Path)):
        from ..amortize.checkpoint import load_amortizer

        amortizer = load_amortizer(amortizer, prior=prior)
    sigma = None if config.noise is not None else config.sigma
    truth = prior_draws(prior, config.problems, config.prior_steps, config.seed, progress)
    results = []
    total = len(config.operators) * len(config.rows) * config.problems
    bar = tqdm(total=total, desc="calibration", disable=not progress)
    for spec in config.operators:
        problems = calibration_problems(truth, spec, sigma, config.seed, config.noise)
        for row in config.rows:
            draws, seconds, passes = [], 0.0, [0, 0, 0]
            for p, (op, obs) in enumerate(problems):
                out = restore(
                    obs.y, op, sigma, prior=prior, sampler=row.sampler, samples=config.samples,
                    seed=SAMPLE_STRIDE * p + 1, preset=row.preset, settings=dict(row.settings), noise=config.noise,
                    amortizer=amortizer if row.sampler == "lavps" else None,
                    run=RunOptions(check_scale=False),  # the truths are the prior's draws, whatever their range
                )  # fmt: skip
                draws.append(out.samples.float())
                seconds += out.cost.seconds
                c = out.cost  # per sample path, the same on every problem of a row but for data-dependent budgets
                counted = (c.denoiser_forwards, c.denoiser_backwards, c.amortizer_forwards)
                passes = [a + b for a, b in zip(passes, counted, strict=True)]
                bar.update()
            samples = torch.stack(draws)  # (P, K, C, H, W)
            fit = torch.cat([
                data_fit(InverseProblem(obs.y, op, obs.noise), truth[p : p + 1], samples[p : p + 1])
                for p, (op, obs) in enumerate(problems)
            ])  # fmt: skip
            per_problem = psnr(samples[:, 0], truth).tolist()
            one, one_ci = mean_ci95(per_problem)
            one_ssim, one_ssim_ci = mean_ci95(ssim(samples[:, 0], truth).tolist())
            entry = dict(
                operator=spec,
                sampler=row.label,
                preset=out.settings.get("preset"),
                ran=out.settings.get("auto", {}).get("ran"),
                psnr_one=one,
                psnr_one_ci95=one_ci,
                psnr_one_per_problem=per_problem,
                ssim_one=one_ssim,
                ssim_one_ci95=one_ssim_ci,
                seconds_per_sample=seconds / (config.problems * config.samples),
                passes_per_sample=dict(
                    zip(
                        ("denoiser_forwards", "denoiser_backwards", "amortizer_forwards"),
                        [v / config.problems for v in passes],
                        strict=True,
                    )
                ),  # fmt: skip
                settings=out.settings,  # every field that ran (the card's temperature and draw, tuned values)
                amortizer=None if row.sampler != "lavps" else name,
                report=calibration_report(samples, truth, config.calibration, data_fit=fit),
            )
            results.append(entry)
            if on_row is not None:
                on_row(entry)
    bar.close()
    return {"config": asdict(config), "results": results}


def _network_name(amortizer) -> str:
    """What a report records of the lavps rows' amortizer: its path, "shipped", or "in-memory network" (never
    the module's repr)."""
    if amortizer is None:
        return "shipped"
    return str(amortizer) if isinstance(amortizer, (str, Path)) else "in-memory network"
