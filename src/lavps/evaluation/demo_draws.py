"""The demo's second setting: prior draws, where the posterior is known to be right.

On real test digits a sampler's PSNR mixes how well it samples the posterior with how well the shipped prior
fits real digits. Here x* is drawn from the prior itself (ancestral sampling) and y = A x* + sigma n, so the
Bayesian posterior is the right answer and a sampler's spread can be checked: every demo row draws K samples
per problem through `lavps.restore` with the settings it runs on the digits, and the report gives one-sample
PSNR / SSIM to x* beside the coverage of the central 90% credible interval for each statistic of
`lavps.evaluation.calibration` (its Wilson interval), the energy score and the spread ratio, computed by
`lavps bench calibration`'s own code (`calibration_bench.run_image_calibration`). Pixel priors only: a latent
prior is skipped.
"""

from __future__ import annotations

import torch

from ..amortize.network import trained_family_for
from ..operators.spec import parse_operator_spec
from ..priors.latent import LatentPrior
from .calibration_bench import CalibrationRow, ImageCalibrationConfig, run_image_calibration
from .demo_rows import LINEAR_ONLY, row_options
from .table import Column, interval, number, text, text_table, yes_no

__all__ = ["DRAW_GLOSSARY", "draws_section", "format_draws_table", "run_prior_draws"]

LEVEL = 0.9

DRAW_GLOSSARY = {
    "PSNR / SSIM": "of the first of the K samples against x* (mean over problems, 95% t-interval)",
    "digits": "the same row's PSNR on the real test digits of the same task (the table above), when it ran",
    "projections / pixels / distance": "coverage of the central 90% credible interval of the K samples for 16 "
    "random projections / the 64 highest-variance pixels / the distance to the sample mean (randomised "
    "ranks; nominal 0.90; below: over-confident, above: over-dispersed), and its 95% Wilson interval over "
    "the problems (docs/calibration.md)",
    "ES": "energy score of the K samples against x* (RMS units, lower is better; mean over problems): a proper "
    "score of accuracy and spread together, where one-sample PSNR rewards samples squeezed together",
    "spread": "spread ratio: how far x* sits from the samples' mean over how far the samples sit from it (1 for "
    "an exact sampler, > 1 too close together)",
    "s/sample": "wall seconds per posterior sample (K samples of one problem drawn as one batch)",
}


def run_prior_draws(config, priors: list, summary: list[dict], progress: bool = False) -> list[dict]:
    """One entry per (pixel prior, draw task, demo row): one-sample PSNR / SSIM to x*, the 90% coverage per
    statistic with its interval, seconds per sample, and the row's PSNR on the real digits (`summary`).
    Rows run as on the digits (`demo.row_options`: preset, tuned setting, the user's settings); DDRM and
    DiffPIR skip non-linear tasks. Empty when config.draw_problems is 0."""
    if config.draw_problems == 0:
        return []
    digits = {(s.get("prior"), s["task"], s["sampler"]): s["psnr"] for s in summary}
    out = []
    for dp in priors:
        if isinstance(dp.prior, LatentPrior):
            continue
        shape = tuple(dp.prior.shape)
        for spec in config.draw_tasks:
            family = parse_operator_spec(spec, shape)
            linear = family.sample_one(torch.Generator().manual_seed(0)).is_linear
            net = dp.amortizer_for(linear)
            trained = trained_family_for(net, family.spec, shape) is not None
            rows = []
            for label, (name, options) in config.samplers.items():
                if name in LINEAR_ONLY and not linear:
                    continue
                opts, _ = row_options(config, name, options, None, family.spec, trained)
                rows.append(CalibrationRow(label, name, None, {k: v for k, v in opts.items() if k != "amortizer"}))
            cal = ImageCalibrationConfig(
                operators=(spec,), sigma=config.sigma, problems=config.draw_problems, samples=config.draw_samples,
                rows=tuple(rows), prior_steps=config.draw_prior_steps, seed=config.seed,
            )  # fmt: skip
            for r in run_image_calibration(cal, dp.prior, progress, amortizer=net)["results"]:
                out.append(_entry(dp.name, spec, trained, r, digits.get((dp.name, spec, r["sampler"]))))
    return out


def _entry(prior: str, task: str, trained: bool, result: dict, digits_psnr: float | None) -> dict:
    report = result["report"]
    coverage = {}
    for name, s in report["statistics"].items():
        c = next(c for c in s["coverage"] if abs(c["level"] - LEVEL) < 1e-9)
        coverage[name] = {"coverage": c["coverage"], "low": c["low"], "high": c["high"]}
    return dict(
        prior=prior,
        task=task,
        in_distribution=trained,
        sampler=result["sampler"],
        psnr=result["psnr_one"],
        psnr_ci95=result["psnr_one_ci95"],
        ssim=result["ssim_one"],
        ssim_ci95=result["ssim_one_ci95"],
        digits_psnr=digits_psnr,
        coverage90=coverage,
        energy_score=report["energy_score"],
        spread_ratio=report["spread_ratio"],
        problems=report["problems"],
        samples=report["samples"],
        seconds_per_sample=result["seconds_per_sample"],
    )


def _coverage(name: str) -> Column:
    def cell(r: dict) -> str:
        c = r["coverage90"].get(name)
        return "n/a" if c is None else f"{c['coverage']:.2f} [{c['low']:.2f},{c['high']:.2f}]"

    return Column(name, 17, cell)


def format_draws_table(draws: list[dict]) -> str:
    """The prior-draw table: PSNR, SSIM, the digits' PSNR, 90% coverage per statistic, energy score, spread
    ratio, seconds."""
    names = list(dict.fromkeys(n for d in draws for n in d["coverage90"]))
    return text_table(
        [
            text("task", 12, "task"),
            yes_no("ID", 3, "in_distribution"),
            text("sampler", 13, "sampler"),
            number("PSNR", 6, "psnr", ".2f"),
            interval("±95%", 5, "psnr_ci95", 2),
            number("SSIM", 6, "ssim", ".3f"),
            interval("±95%", 5, "ssim_ci95", 3),
            interval("digits", 6, "digits_psnr", 2),
            *[_coverage(n) for n in names],
            number("ES", 7, "energy_score", ".4f"),
            number("spread", 6, "spread_ratio", ".2f"),
            number("s/sample", 8, "seconds_per_sample", ".2f"),
        ],
        draws,
    )


def draws_section(draws: list[dict]) -> list[str]:
    """The report.md lines of the prior-draw setting."""
    d = draws[0]
    head = (
        f"Prior draws (x* drawn from the prior `{d['prior']}`, so the posterior is known to be right): "
        f"{d['problems']} problems x {d['samples']} samples per task, coverage at 90% (nominal 0.90):"
    )
    return (
        [head, "", "```", format_draws_table(draws), "```", ""]
        + [f"- **{k}**: {v}" for k, v in DRAW_GLOSSARY.items()]
        + [""]
    )
