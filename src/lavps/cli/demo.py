"""`lavps demo`: the main job on the embedded default prior and amortizer."""

from __future__ import annotations

from pathlib import Path

import click

from .group import cli
from .options import ListOption, grouped, option
from .settings import sampler_settings

__all__ = ["demo", "row_samplers"]


def row_samplers() -> tuple[str, ...]:
    """The samplers of the demo's rows (their settings options), read when the options are made."""
    from ..evaluation.demo_rows import DEMO_ROWS

    return tuple(dict.fromkeys(name for name, _ in DEMO_ROWS.values()))


_QUICK_TASKS = ("motion_blur:9:0.5", "sr:2", "gaussian_blur:13:3.0")  # two trained families, one unseen
DEMO_OUTPUTS = r"report\.md|summary\.json|metrics\.csv|quality_vs_seconds\.png|grid_.+\.png"
_DRAW_PROBLEMS = 8
_ROWS = "ddrm-20 ddrm-100 diffpir-100 dps mgdm lavps lavps-fast lavps-fastest lavps-ref"


@cli.command("demo", renamed={"--tasks": "--operator", "--workers": "--threads"})
@click.option(
    "--out",
    "out_dir",
    default=Path("lavps-demo"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Report folder.",
)
@click.option(
    "--quick",
    is_flag=True,
    help=f"2 digits, tasks {' '.join(_QUICK_TASKS)}, no mean-PSNR, no prior draws unless --prior-draws "
    "(a minute or two).",
)
@click.option(
    "--images", default=None, type=click.IntRange(1), show_default="4; 2 with --quick", help="Held-out digits per task."
)
@click.option(
    "--operator",
    "tasks",
    cls=ListOption,
    default=None,
    show_default="the shipped amortizer's six training families, center:0.35 (a draw of its box family), "
    "gaussian_blur:13:3.0 (unseen), then the "
    "non-linear jpeg:10 phase:2 (trained) jpeg:25 hdr:2 (unseen)",
    help="Operator specs of the tasks (space-separated). A task among the amortizer's training families or "
    "inside one (read from its card) is reported as in-distribution, every other one as unseen. Non-linear tasks "
    "run DPS, MGDM and LAVPS (with the shipped non-linear amortizer unless --amortizer is given).",
)
@click.option("--samplers", cls=ListOption, default=None, show_default=_ROWS, help="Rows to run (a subset).")
@click.option(
    "--mean-images",
    default=None,
    show_default="1; 0 with --quick",
    type=click.IntRange(0),
    help="Digits scored on several samples each: the PSNR of their mean, their energy score and spread ratio "
    "(a second frontier, by energy score; 0: skip).",
)
@click.option("--mean-samples", default=4, show_default=True, type=click.IntRange(1), help="Samples per such digit.")
@click.option(
    "--digit-offset",
    default=0,
    show_default=True,
    type=click.IntRange(0),
    help="Skip this many test digits per class (tune settings on other digits than the reported ones).",
)
@click.option(
    "--paper-baselines",
    is_flag=True,
    help="DDRM, DiffPIR and LAVPS with their default settings on every task (default: the per-family tuned "
    "settings of lavps.samplers.presets.TUNED on the families they were tuned on).",
)
@click.option(
    "--prior",
    "prior_specs",
    cls=ListOption,
    default=None,
    show_default="mnist",
    help="Prior spec(s) of 1x32x32 images, run in turn on the same digits (e.g. `mnist ldm:mnist`: pixel and "
    "latent side by side, with a table of both). On a latent prior DDRM and DiffPIR are not run.",
)
@click.option(
    "--prior-draws",
    "draw_problems",
    default=None,
    type=click.IntRange(0),
    show_default="8; 0 with --quick",
    help="The second setting: problems with x* drawn from the prior (posterior known to be right); every row's "
    "PSNR, SSIM and 90% coverage per statistic there (0: skip; pixel priors only).",
)
@click.option("--draw-samples", default=5, show_default=True, type=click.IntRange(2), help="Samples per prior draw.")
@click.option(
    "--draw-operator", "draw_tasks", cls=ListOption, default=("sr:4",), show_default="sr:4", help="Prior-draw tasks."
)
@click.option(
    "--draw-prior-steps",
    default=1000,
    show_default=True,
    type=click.IntRange(3, 1000),
    help="Ancestral (DDIM eta = 1) steps of each prior draw.",
)
@option("amortizer", show_default="the shipped amortizer")
@option("seed", default=0, help="Seed of the digits' operators, noise and of every sampler.")
@option("overwrite", help="Replace the outputs of an earlier demo in --out (nothing else is ever replaced).")
@option("quiet", help="No progress bars.")
@option("device")
@option("precision")
@grouped("digits", dict, "images", "mean_images", "mean_samples", "digit_offset")
@grouped("draws", dict, "draw_problems", "draw_samples", "draw_tasks", "draw_prior_steps")
@grouped("placement", dict, "device", "precision")
@grouped("output", dict, "out_dir", "overwrite", "quiet")
@sampler_settings(row_samplers, default_note="each row's preset")
def demo(output, quick, digits, draws, tasks, samplers, paper_baselines, prior_specs, amortizer, seed, placement,
         settings):  # fmt: skip
    """Restore held-out digits with DDRM, DiffPIR, DPS, MGDM and LAVPS on the amortizer's families and unseen ones
    (linear and non-linear), and on draws from the prior, where the posterior is known to be right.

    Sampler settings (--steps, --window, ...) override every row whose sampler has them."""
    from ..evaluation.classifier import load_classifier
    from ..evaluation.demo import DEMO_SAMPLERS, DemoConfig, format_demo_table, run_demo
    from ..evaluation.demo_draws import format_draws_table
    from ..evaluation.demo_frontier import all_frontiers, format_frontier
    from ..evaluation.demo_targets import format_gaps
    from ..operators import parse_operator_spec
    from ..outputs import OutputFolder

    out_dir = output["out_dir"]
    target = OutputFolder(out_dir, "summary.json", output["overwrite"], legacy=DEMO_OUTPUTS)  # refused before any work
    unknown = sorted(set(samplers or ()) - set(DEMO_SAMPLERS))
    if unknown:
        raise ValueError(f"unknown demo sampler(s) {', '.join(unknown)}; allowed: {', '.join(DEMO_SAMPLERS)}")
    rows = {k: v for k, v in DEMO_SAMPLERS.items() if not samplers or k in samplers}
    settings.check_used([name for name, _ in rows.values()])
    from ..workflows.settings import check_overrides

    for name in dict.fromkeys(name for name, _ in rows.values()):  # every row's settings before the first row runs
        check_overrides(name, settings.for_sampler(name))
    base = DemoConfig()
    tasks = tuple(tasks) if tasks else (_QUICK_TASKS if quick else base.tasks)
    for spec in (*tasks, *draws["draw_tasks"]):
        parse_operator_spec(spec, (1, 32, 32))  # every task is checked before the first one runs
    problems = draws["draw_problems"]
    config = DemoConfig(
        images=digits["images"] or (2 if quick else base.images),
        tasks=tasks,
        seed=seed,
        mean_images=(0 if quick else 1) if digits["mean_images"] is None else digits["mean_images"],
        mean_samples=digits["mean_samples"],
        digit_offset=digits["digit_offset"],
        samplers=rows,
        tuned_baselines=not paper_baselines,
        settings={name: settings.for_sampler(name) for name, _ in rows.values()},
        draw_problems=(0 if quick else _DRAW_PROBLEMS) if problems is None else problems,
        draw_samples=draws["draw_samples"],
        draw_tasks=tuple(draws["draw_tasks"]),
        draw_prior_steps=draws["draw_prior_steps"],
    )
    priors = _demo_priors(prior_specs or ("mnist",), amortizer, tasks, placement)
    with target as tmp:
        result = run_demo(config, priors, None, load_classifier(), tmp, progress=not output["quiet"])
    click.echo(format_demo_table(result["summary"]))
    if result["targets"]:
        click.echo("\nPSNR gaps of LAVPS to the samplers it must match, paired per digit (report.md explains):")
        click.echo(format_gaps(result["targets"]))
    for score, frontier in all_frontiers(result["rows"], result["summary"]).items():
        if frontier:
            by = "one-sample PSNR" if score == "psnr" else "energy score, lower is better"
            click.echo(f"\nThe fast end of the frontier by {by} (at most 20 denoiser forwards, no backward pass):")
            click.echo(format_frontier(frontier))
    if result["prior_draws"]:
        click.echo("\nPrior draws (the posterior is known to be right), coverage at 90% (nominal 0.90):")
        click.echo(format_draws_table(result["prior_draws"]))
    for line in result["skipped"]:
        click.echo(f"not run: {line}")
    click.echo(f"report: {out_dir / 'report.md'}")


def _demo_priors(specs, amortizer, tasks, placement) -> list:
    """The `DemoPrior`s of the run: each prior (1x32x32 images) with its amortizer (the given one, else the
    shipped one for that prior) and, on a pixel prior without --amortizer, the shipped non-linear amortizer
    for the non-linear tasks (when there are any)."""
    import torch

    from ..amortize.checkpoint import load_amortizer
    from ..amortize.defaults import default_amortizer_path
    from ..api import load_prior
    from ..evaluation.demo import DemoPrior
    from ..operators import parse_operator_spec
    from ..priors.latent import LatentPrior, image_shape

    nonlinear = any(
        not parse_operator_spec(t, (1, 32, 32)).sample_one(torch.Generator().manual_seed(0)).is_linear for t in tasks
    )
    out = []
    for spec in dict.fromkeys(specs):
        prior = load_prior(spec, **placement)  # an unavailable device is named before any work
        if image_shape(prior) != (1, 32, 32):
            raise ValueError(f"the demo restores 1x32x32 MNIST digits; prior {spec!r} has shape {image_shape(prior)}")
        files = [str(amortizer or default_amortizer_path(prior))]
        net = load_amortizer(files[0], prior=prior)
        second = None
        if nonlinear and amortizer is None and not isinstance(prior, LatentPrior):
            try:
                second = load_amortizer(default_amortizer_path(prior, linear=False), prior=prior)
                files.append(str(default_amortizer_path(prior, linear=False)))
            except ValueError:  # made for the shipped MNIST prior only: another prior keeps its one amortizer
                second = None
        out.append(DemoPrior(spec, prior, net, second, tuple(files)))
    return out
