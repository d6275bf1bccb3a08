"""`lavps demo`: the main job on the embedded default prior and amortizer."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from .main import cli
from .options import ListOption, option

__all__ = ["demo"]


@cli.command("demo", renamed={"--tasks": "--operator", "--threads": "--workers"})
@click.option(
    "--out",
    "out_dir",
    default=Path("lavps-demo"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Report folder.",
)
@click.option("--quick", is_flag=True, help="2 images, 3 tasks and smaller budgets (under 2 minutes).")
@click.option(
    "--images", default=None, type=click.IntRange(1), show_default="4; 2 with --quick", help="Held-out digits per task."
)
@click.option(
    "--operator",
    "tasks",
    cls=ListOption,
    default=None,
    show_default="motion_blur:9:0.5 box:0.3:0.5 sr:2 gaussian_blur:9:2.0 pixels:0.2 (--quick: the first 3)",
    help="Operator specs of the tasks (space-separated). The task equal to the amortizer's training family "
    "(motion_blur:9:0.5 for the shipped one) is reported as in-distribution, every other one as out-of-distribution.",
)
@click.option(
    "--prior",
    "prior_path",
    default=None,
    show_default="mnist",
    help="Prior spec (see docs/priors.md); it must be a 1x32x32 prior.",
)
@option("amortizer", show_default="the shipped amortizer")
@option("seed", default=0, help="Seed of the digits' noise and of every sampler.")
@option("workers", default=None, show_default="torch's choice", help="CPU parallelism: torch threads.")
@option("quiet", help="No progress bars.")
@option("device")
@option("precision")
def demo(out_dir, quick, images, tasks, prior_path, amortizer, seed, workers, quiet, device, precision):
    """Restore held-out digits with DPS, MGDM and LAVPS on the amortizer's task and on unseen ones; writes a report."""
    import torch

    from ..amortize.checkpoint import load_amortizer
    from ..amortize.defaults import default_amortizer_path
    from ..device import resolve_device
    from ..evaluation.demo import DemoConfig, format_demo_table, run_demo
    from ..operators import parse_operator_spec
    from ..priors.placement import place_prior
    from ..priors.presets import load_prior

    device = resolve_device(device)  # an unavailable device is named before any work
    prior = place_prior(load_prior(prior_path), device, precision)
    if tuple(prior.shape) != (1, 32, 32):
        raise ValueError(f"the demo restores 1x32x32 MNIST digits; prior {prior_path!r} has shape {prior.shape}")
    for spec in tasks or ():
        parse_operator_spec(spec, tuple(prior.shape))  # every task is checked before the first one runs
    if workers:
        torch.set_num_threads(workers)
    net = load_amortizer(amortizer or default_amortizer_path(), prior=prior)
    config = DemoConfig(seed=seed)
    if quick:
        config = DemoConfig(
            images=2,
            seed=seed,
            tasks=("motion_blur:9:0.5", "box:0.3:0.5", "sr:2"),
            samplers={
                "dps": ("dps", {"dps_steps": 100, "dps_zeta": 1.0}),
                # same grid and window as the shipped amortizer (N = 50, last 15 iterations)
                "mgdm": ("mgdm", {"steps": 50, "window": 15, "adam_out": 1, "adam_in": 5, "lr": 0.03}),
                "mgdm-fast": ("mgdm", {"steps": 50, "window": 15, "adam_out": 1, "adam_in": 1, "lr": 0.03}),
                "lavps": (
                    "lavps",
                    {"steps": 50, "window": 15, "adam_out": 1, "adam_in": 1, "inner_steps": 1, "lr": 0.03},
                ),
            },
        )
    if images is not None or tasks:
        config = DemoConfig(
            images=images or config.images,
            tasks=tuple(tasks) if tasks else config.tasks,
            id_task=config.id_task,
            sigma=config.sigma,
            seed=seed,
            samplers=config.samplers,
        )
    trained_on = (getattr(net, "info", None) or {}).get("family", {}).get("name")
    if trained_on:  # the in-distribution task is the family the amortizer was trained on
        config = dataclasses.replace(config, id_task=trained_on)
    result = run_demo(config, prior, net, out_dir, progress=not quiet)
    click.echo(format_demo_table(result["summary"]))
    click.echo(f"report: {out_dir / 'report.md'}")
