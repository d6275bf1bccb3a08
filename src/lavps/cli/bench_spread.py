"""`lavps bench spread`: one sample against the mean of K samples on the demo's digits and observations."""

from __future__ import annotations

import click

from .bench import bench
from .demo import row_samplers
from .options import ListOption, grouped, option
from .settings import sampler_settings

__all__ = ["bench_spread"]

_ROWS = ("ddrm-100", "diffpir-100", "lavps-fastest", "lavps-ref")


@bench.command("spread", renamed={"--workers": "--threads"})
@click.option("--images", default=20, show_default=True, type=click.IntRange(1), help="Held-out digits per task.")
@click.option("--samples", default=4, show_default=True, type=click.IntRange(2), help="Samples K per digit (>= 2).")
@click.option(
    "--operator",
    "tasks",
    cls=ListOption,
    default=None,
    show_default="the demo's eight linear tasks",
    help="Operator specs of the tasks (space-separated).",
)
@click.option(
    "--samplers",
    cls=ListOption,
    default=_ROWS,
    show_default=True,
    help="Demo rows to run (see `lavps demo --help`); every LAVPS row is compared with every other row.",
)
@click.option(
    "--digit-offset", default=0, show_default=True, type=click.IntRange(0), help="Skip this many test digits per class."
)
@option("amortizer", show_default="the shipped amortizer")
@option("seed", default=0, help="Seed of the digits' operators and noise and of the samplers (as in `lavps demo`).")
@option("json")
@option("quiet")
@grouped("digits", dict, "images", "samples", "digit_offset")
@sampler_settings(row_samplers, default_note="each row's preset")
def bench_spread(digits, tasks, samplers, amortizer, seed, json_path, quiet, settings):
    """One-sample PSNR, PSNR of the mean of K samples and the samples' spread per (task, sampler), on
    the demo's digits and observations (sample 0 = the demo's sample), with paired gaps of every LAVPS
    row to every other row: does a one-sample gap come from the samples' centre or their spread?

    Sampler settings (--steps, --window, ...) override every row whose sampler has them."""
    from ..amortize.checkpoint import load_amortizer
    from ..amortize.defaults import default_amortizer_path
    from ..evaluation.demo import DEMO_SAMPLERS, LINEAR_TASKS, DemoConfig
    from ..evaluation.spread import SpreadConfig, format_spread, format_spread_gaps, run_spread
    from ..operators import parse_operator_spec
    from ..outputs import bench_output, write_bench_json
    from ..priors.specs import load_prior

    target = None if json_path is None else bench_output(json_path)  # refused before any work
    unknown = sorted(set(samplers) - set(DEMO_SAMPLERS))
    if unknown:
        raise ValueError(f"unknown demo row(s) {', '.join(unknown)}; allowed: {', '.join(DEMO_SAMPLERS)}")
    prior = load_prior(None)
    for spec in tasks or ():
        parse_operator_spec(spec, tuple(prior.shape))  # every task is checked before the first one runs
    net = load_amortizer(amortizer or default_amortizer_path(), prior=prior)
    rows = {label: DEMO_SAMPLERS[label] for label in samplers}
    settings.check_used([name for name, _ in rows.values()])
    images, samples = digits["images"], digits["samples"]
    lavps_rows = [r for r in rows if rows[r][0] == "lavps"]
    compare = tuple((a, b) for a in lavps_rows for b in rows if b not in lavps_rows)
    demo = DemoConfig(
        images=images,
        seed=seed,
        digit_offset=digits["digit_offset"],
        samplers=rows,
        mean_images=0,
        settings={name: settings.for_sampler(name) for name, _ in rows.values()},
        tasks=tuple(tasks) if tasks else LINEAR_TASKS,  # the demo's linear tasks (DDRM and DiffPIR rows)
    )
    config = SpreadConfig(demo=demo, samples=samples, compare=compare)
    out = run_spread(config, prior, net, progress=not quiet)
    click.echo(format_spread(out["summary"], samples))
    if out["gaps"]:
        click.echo(
            "\nPaired per digit (row minus reference; same digits, observations and seeds; the last column: the "
            "row's mean of K minus ONE reference sample, a point estimate against the reference's output):"
        )
        click.echo(format_spread_gaps(out["gaps"], samples))
    for line in out["skipped"]:
        click.echo(f"skipped: {line}")
    click.echo("spread: per-pixel variance across the K samples of a digit (unbiased), mean over digits")
    if json_path is not None:
        write_bench_json(target, out)
        click.echo(f"wrote {json_path}")
