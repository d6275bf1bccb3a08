"""`lavps bench ...`: benchmarks that print tables and write JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .main import cli
from .options import ListOption

__all__ = ["bench"]


@cli.group()
def bench() -> None:
    """Benchmarks (tables on stdout, JSON on request)."""


def _write_json(path: Path, payload: dict) -> None:
    # Written to a temporary name first: an interrupted run never leaves a half-written file.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    tmp.replace(path)


@bench.command("gmm")
@click.option("--dim", "dims", cls=ListOption, item_type=int, default=(8, 80, 800), show_default=True,
              help="Signal dimensions (space-separated).")
@click.option("--obs-dim", "obs_dims", cls=ListOption, item_type=int, default=(1, 2, 4), show_default=True,
              help="Observation dimensions d_y (space-separated).")
@click.option("--seeds", default=10, show_default=True, type=click.IntRange(1), help="Independent problems per cell.")
@click.option("--first-seed", default=0, show_default=True, type=int)
@click.option("--samples", default=2000, show_default=True, type=click.IntRange(2), help="Samples per problem.")
@click.option("--steps", default=100, show_default=True, type=click.IntRange(4), help="MGDM grid size N.")
@click.option("--dps-steps", default=1000, show_default=True, type=click.IntRange(3), help="DPS grid size.")
@click.option("--dps-zeta", default=0.03, show_default=True, type=float, help="DPS step size.")
@click.option("--lr", default=0.1, show_default=True, type=float, help="MGDM Adam learning rate.")
@click.option("--adam-out", default=5, show_default=True, type=int, help="MGDM Adam steps outside the window.")
@click.option("--adam-in", default=20, show_default=True, type=int, help="MGDM Adam steps inside the window.")
@click.option("--window", default=30, show_default=True, type=int, help="Final window (iterations).")
@click.option("--samplers", cls=ListOption, default=("dps", "mgdm"), show_default=True,
              help="Samplers (space-separated): ddim dps mgdm.")
@click.option("--sigma", default=1.0, show_default=True, type=float, help="Observation noise sigma_y.")
@click.option("--family", default="dense", show_default=True, type=click.Choice(["dense", "mask"]),
              help="Operator family of the problems.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1),
              help="Worker processes (one torch thread each).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write config and rows here.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def bench_gmm(dims, obs_dims, seeds, first_seed, samples, steps, dps_steps, dps_zeta, lr, adam_out, adam_in,
              window, samplers, sigma, family, workers, json_path, quiet):
    """Exact-posterior benchmark on the 25-component Gaussian-mixture prior."""
    from ..evaluation.gmm_bench import GMMBenchConfig, format_table, run_gmm_benchmark
    from ..operators import GaussianNoise
    from ..samplers.registry import SAMPLERS, build_sampler

    GaussianNoise(sigma)  # validates sigma > 0 before any work
    unknown = [s for s in samplers if s not in SAMPLERS]
    if unknown:
        raise click.BadParameter(f"unknown sampler(s) {', '.join(unknown)}; allowed: {', '.join(SAMPLERS)}",
                                 param_hint="--samplers")
    options = dict(steps=steps, dps_steps=dps_steps, dps_zeta=dps_zeta, lr=lr, adam_out=adam_out,
                   adam_in=adam_in, window=window)
    config = GMMBenchConfig(dims=tuple(dims), obs_dims=tuple(obs_dims), seeds=seeds, first_seed=first_seed,
                            samples=samples, samplers=tuple(samplers), sigma=sigma, family=family,
                            sampler_options=options, workers=workers)
    out = run_gmm_benchmark(config, build_sampler, progress=not quiet)
    click.echo(format_table(out["results"]))
    if json_path is not None:
        _write_json(json_path, out)
        click.echo(f"wrote {json_path}")
