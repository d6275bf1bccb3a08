"""`lavps demo`: the main job on the embedded default prior and amortizer."""

from __future__ import annotations

from pathlib import Path

import click

from .main import cli
from .options import ListOption

__all__ = ["demo"]


@cli.command("demo")
@click.option(
    "--out",
    "out_dir",
    default=Path("lavps-demo"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Report folder.",
)
@click.option("--quick", is_flag=True, help="2 images, 3 tasks and smaller budgets (under 2 minutes).")
@click.option("--images", default=None, type=click.IntRange(1), help="Held-out test digits per task.")
@click.option("--tasks", cls=ListOption, default=None, help="Operator specs (space-separated); first = ID task.")
@click.option("--prior", "prior_path", default=None, help="Prior spec (default: mnist); it must be a 1x32x32 prior.")
@click.option("--amortizer", default=None, help="Amortizer checkpoint (default: the shipped one).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--threads", default=None, type=click.IntRange(1), help="torch threads (default: torch's choice).")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def demo(out_dir, quick, images, tasks, prior_path, amortizer, seed, threads, quiet):
    """Restore held-out digits: the amortizer's ID task and OOD tasks with DPS, MGDM and LAVPS."""
    import torch

    from ..amortize.checkpoint import load_amortizer
    from ..amortize.defaults import default_amortizer_path
    from ..evaluation.demo import DemoConfig, format_demo_table, run_demo
    from ..priors.presets import load_prior

    if threads:
        torch.set_num_threads(threads)
    prior = load_prior(prior_path)
    if tuple(prior.shape) != (1, 32, 32):
        raise ValueError(f"the demo restores 1x32x32 MNIST digits; prior {prior_path!r} has shape {prior.shape}")
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
    result = run_demo(config, prior, net, out_dir, progress=not quiet)
    click.echo(format_demo_table(result["summary"]))
    click.echo(f"report: {out_dir / 'report.md'}")
