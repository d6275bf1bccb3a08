"""`lavps bench calibration`: are the posterior samples as spread as the posterior? (rank statistics)"""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..jsonfile import write_json
from .bench import bench
from .options import ListOption, grouped, option
from .settings import sampler_settings

__all__ = ["bench_calibration"]


@bench.command("calibration")
@option(
    "prior_path",
    show_default="mnist",
    help="Prior spec (see `lavps restore --help`), or gmm: the 25-component Gaussian mixture of `bench gmm`, "
    "checked against its exact posterior.",
)
@click.option(
    "--operator",
    "operators",
    cls=ListOption,
    default=None,
    show_default="sr:4; with gmm: dense:1 dense:2 dense:4",
    help="Operator specs or operator files (space-separated), one task each; with gmm FAMILY:D_Y (dense or mask).",
)
@click.option(
    "--samplers",
    cls=ListOption,
    default=None,
    show_default="lavps; with gmm: mgdm",
    help="Rows SAMPLER[:PRESET] (space-separated), e.g. lavps lavps:reference ddrm:reference dps; "
    "with gmm registry names (bench gmm's settings).",
)
@option("problems", default=None, show_default="24; with gmm 10")
@option("samples", default=15, help="Posterior samples K per problem (the truth's rank is in 0..K).")
@click.option(
    "--groups", default=100, show_default=True, type=click.IntRange(2), help="gmm: truths per problem (K samples each)."
)
@click.option(
    "--dim", "dims", cls=ListOption, item_type=click.IntRange(1), default=(8,), show_default=True, help="gmm: dims d."
)
@option("prior_steps", default=1000)
@option("sigma", default=None, show_default="0.05; with gmm 1.0")
@click.option(
    "--noise", default=None, show_default="none: Gaussian, --sigma", help="Images: a noise spec, e.g. poisson:PEAK."
)
@option(
    "amortizer",
    help="Trained amortizer of the lavps rows (images: default the shipped one for the prior, e.g. a copy that "
    "calibrate-amortizer fitted; gmm: required).",
)
@option("seed", default=0)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("calibration-report"),
    show_default=True,
    help="Report folder: calibration.json, coverage.png, rank_histograms.png.",
)
@option("overwrite")
@option("quiet")
@grouped("problem", dict, "problems", "samples", "sigma", "noise", "seed")
@grouped("gmm", dict, "groups", "dims", "amortizer")
@grouped("output", dict, "out_dir", "overwrite", "quiet")
@sampler_settings(None, default_note="each row's preset (gmm: each sampler's default)")
def bench_calibration(prior_path, operators, samplers, problem, gmm, prior_steps, output, settings):
    """Simulation-based calibration: x* from the prior, y = A x* + sigma n, K posterior samples per problem;
    per (task, sampler) the coverage of central credible intervals at 50/80/90/95%, a uniformity p-value and
    the rank histogram of x* for random projections, high-variance pixels and the distance to the sample
    mean, and TARP's expected coverage; with gmm also the mass on each mixture component.

    Sampler settings (--steps, --window, ...) override every row whose sampler has them."""
    from ..outputs import OutputFolder

    out_dir, quiet = output["out_dir"], output["quiet"]
    # before any work: a new or empty folder, or an earlier report's (replaced with --overwrite); nothing else
    target = OutputFolder(out_dir, "calibration.json", output["overwrite"], legacy=_earlier_report(out_dir))
    if prior_path == "gmm":
        if problem["noise"] is not None:
            raise ValueError("--noise is for image priors; the gmm check needs Gaussian noise (its exact posterior)")
        out, keys, extra = _run_gmm(operators, samplers, problem, gmm, settings, quiet)
    else:
        out, keys, extra = _run_images(
            prior_path, operators, samplers, problem, prior_steps, settings, quiet, gmm["amortizer"]
        )
    from ..evaluation.calibration_table import format_calibration_table, plot_coverage, plot_rank_histograms

    click.echo(format_calibration_table(out["results"], keys, extra))
    with target as tmp:
        write_json(tmp / "calibration.json", out)
        plot_coverage(out["results"], keys, tmp / "coverage.png")
        plot_rank_histograms(out["results"], keys, tmp / "rank_histograms.png")
    click.echo(f"wrote {out_dir}/calibration.json, coverage.png, rank_histograms.png")


def _earlier_report(out_dir: Path) -> str | None:
    """The names of a report written before reports listed their outputs, when out_dir/calibration.json is one
    (its config and results); None otherwise (then a user's file of that name is never replaced)."""
    try:
        payload = json.loads((out_dir / "calibration.json").read_text())
    except (OSError, ValueError):
        return None
    ours = isinstance(payload, dict) and {"config", "results"} <= set(payload)
    return r"calibration\.json|coverage\.png|rank_histograms\.png" if ours else None


def _run_images(prior_path, operators, samplers, problem, prior_steps, settings, quiet, amortizer=None):
    from dataclasses import replace

    from ..api import load_prior, operator
    from ..evaluation.calibration_bench import ImageCalibrationConfig, parse_row, run_image_calibration
    from ..priors.latent import image_shape
    from ..priors.specs import prior_fingerprint
    from ..samplers.presets import preset_options
    from ..workflows.settings import check_latent_sampler

    rows = tuple(parse_row(s) for s in samplers or ("lavps",))
    for row in rows:
        preset_options(row.sampler, row.preset)  # an unknown sampler or preset fails before any work
    settings.check_used([row.sampler for row in rows])
    rows = tuple(replace(row, settings=settings.for_sampler(row.sampler)) for row in rows)
    prior = load_prior(prior_path)
    for row in rows:
        check_latent_sampler(row.sampler, prior)  # ddrm / diffpir on a latent prior fail before any work
    operators = tuple(operators or ("sr:4",))
    for spec in operators:
        operator(spec, image_shape(prior), seed=0)  # a bad spec or file fails before any work
    sigma = problem["sigma"]
    if sigma is not None and problem["noise"] is not None:
        raise ValueError("give --sigma (Gaussian noise) or --noise, not both")
    config = ImageCalibrationConfig(
        operators=operators, sigma=0.05 if sigma is None else sigma, problems=problem["problems"] or 24,
        samples=problem["samples"], rows=rows, prior_steps=prior_steps, seed=problem["seed"], noise=problem["noise"],
    )  # fmt: skip
    if config.noise is not None:
        from ..api import noise_model

        noise_model(None, config.noise)  # a bad noise spec fails before any work
    out = run_image_calibration(config, prior, progress=not quiet, amortizer=amortizer)
    out["config"]["prior"] = prior_path or "mnist"
    if amortizer is not None:
        out["config"]["amortizer"] = str(amortizer)
    out["config"]["prior_fingerprint"] = prior_fingerprint(prior)
    extra = {"psnr_one": "PSNR(1)", "energy_score": "ES", "spread_ratio": "spread", "seconds_per_sample": "s/sample"}
    return out, ("operator", "sampler"), extra


def _run_gmm(operators, samplers, problem, gmm, settings, quiet):
    from ..evaluation.calibration_gmm import GMMCalibrationConfig, run_gmm_calibration
    from ..evaluation.gmm_bench import SamplerEntry
    from ..samplers.registry import SAMPLERS, build_sampler

    names = tuple(samplers or ("mgdm",))
    bad = [s for s in names if s not in SAMPLERS]
    if bad:
        raise click.BadParameter(f"unknown sampler(s) {', '.join(bad)}; allowed with gmm: {', '.join(SAMPLERS)}")
    if gmm["amortizer"] is None and any(s in ("lavps", "amortized-only") for s in names):
        raise click.BadParameter("lavps with gmm needs --amortizer PATH", param_hint="--amortizer")
    settings.check_used(list(names))
    family, obs_dims = None, []
    for spec in operators or ("dense:1", "dense:2", "dense:4"):
        kind, _, dy = spec.partition(":")
        if kind not in ("dense", "mask") or not dy.isdigit() or int(dy) < 1 or (family not in (None, kind)):
            raise click.BadParameter(
                f"{spec!r}: with gmm an operator is dense:D_Y or mask:D_Y (D_Y >= 1, one family per run)",
                param_hint="--operator",
            )
        family = kind
        obs_dims.append(int(dy))
    sigma = problem["sigma"]
    config = GMMCalibrationConfig(
        dims=tuple(gmm["dims"]), obs_dims=tuple(obs_dims), problems=problem["problems"] or 10, groups=gmm["groups"],
        samples=problem["samples"], sigma=1.0 if sigma is None else sigma, family=family,
        entries=tuple(SamplerEntry(n, n, settings.for_sampler(n)) for n in names),
        sampler_options={"amortizer": gmm["amortizer"]}, seed=problem["seed"],
    )  # fmt: skip
    out = run_gmm_calibration(config, build_sampler, progress=not quiet)
    click.echo(_mode_table(out["results"]))
    return out, ("dim", "obs_dim", "sampler"), {"energy_score": "ES", "spread_ratio": "spread"}


def _mode_table(results: list[dict]) -> str:
    head = f"{'dim':>5} {'d_y':>4} {'sampler':<16} {'|mass - w| max':>15} {'± 95%':>7} {'worst':>7} {'multimodal':>10}"
    lines = ["Mass on each mixture component vs its exact posterior weight (largest error per problem):", head]
    for r in results:
        worst = r["multimodal_mode_error_max"]
        lines.append(
            f"{r['dim']:>5} {r['obs_dim']:>4} {r['sampler']:<16} {r['mode_error']:>15.3f} "
            f"{r['mode_error_ci95']:>7.3f} {r['mode_error_max']:>7.3f} "
            f"{r['multimodal_problems']:>4} {'-' if worst is None else f'{worst:.3f}':>5}"
        )
    lines.append("multimodal: problems with >= 2 components of exact weight >= 0.05, and the worst error among them\n")
    return "\n".join(lines)
