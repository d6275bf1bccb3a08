"""`lavps bench ...`: benchmarks that print tables and write JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..evaluation.gmm_bench import format_table
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


def _check_networks(samplers, amortizer, supervised) -> None:
    if amortizer is None and any(s in ("lavps", "amortized-only") for s in samplers):
        raise click.BadParameter("lavps and amortized-only need --amortizer PATH", param_hint="--amortizer")
    if supervised is None and "supervised" in samplers:
        raise click.BadParameter("supervised needs --supervised PATH", param_hint="--supervised")


@bench.command("gmm")
@click.option(
    "--dim",
    "dims",
    cls=ListOption,
    item_type=int,
    default=(8, 80, 800),
    show_default=True,
    help="Signal dimensions (space-separated).",
)
@click.option(
    "--obs-dim",
    "obs_dims",
    cls=ListOption,
    item_type=int,
    default=(1, 2, 4),
    show_default=True,
    help="Observation dimensions d_y (space-separated).",
)
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
@click.option(
    "--samplers",
    cls=ListOption,
    default=("dps", "mgdm"),
    show_default=True,
    help="Samplers (space-separated): ddim dps mgdm lavps amortized-only supervised ddrm diffpir.",
)
@click.option("--ddrm-steps", default=None, type=click.IntRange(2), help="DDRM denoiser calls [default: 20].")
@click.option("--ddrm-eta", default=None, type=click.FloatRange(0, 1), help="DDRM eta [default: 0.85].")
@click.option("--diffpir-steps", default=None, type=click.IntRange(2), help="DiffPIR denoiser calls [default: 100].")
@click.option(
    "--diffpir-lambda", default=None, type=click.FloatRange(0, min_open=True), help="DiffPIR lambda [default: 1.75]."
)
@click.option("--diffpir-zeta", default=None, type=click.FloatRange(0, 1), help="DiffPIR zeta [default: 0.3].")
@click.option(
    "--amortizer",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Trained amortizer (.safetensors) for lavps / amortized-only.",
)
@click.option(
    "--supervised",
    "supervised_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Trained supervised baseline (.safetensors).",
)
@click.option(
    "--inner-steps",
    default=3,
    show_default=True,
    type=click.IntRange(0),
    help="LAVPS Adam steps after the guard (G_in).",
)
@click.option("--sigma", default=1.0, show_default=True, type=float, help="Observation noise sigma_y.")
@click.option(
    "--family",
    default="dense",
    show_default=True,
    type=click.Choice(["dense", "mask"]),
    help="Operator family of the problems.",
)
@click.option(
    "--workers", default=2, show_default=True, type=click.IntRange(1), help="Worker processes (one torch thread each)."
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write config and rows here.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def bench_gmm(
    dims,
    obs_dims,
    seeds,
    first_seed,
    samples,
    steps,
    dps_steps,
    dps_zeta,
    lr,
    adam_out,
    adam_in,
    window,
    samplers,
    ddrm_steps,
    ddrm_eta,
    diffpir_steps,
    diffpir_lambda,
    diffpir_zeta,
    amortizer,
    supervised_path,
    inner_steps,
    sigma,
    family,
    workers,
    json_path,
    quiet,
):
    """Exact-posterior benchmark on the 25-component Gaussian-mixture prior."""
    from ..evaluation.gmm_bench import GMMBenchConfig, run_gmm_benchmark
    from ..operators import GaussianNoise
    from ..samplers.registry import DEFAULTS, SAMPLERS, build_sampler

    GaussianNoise(sigma)  # validates sigma > 0 before any work
    unknown = [s for s in samplers if s not in SAMPLERS]
    if unknown:
        raise click.BadParameter(
            f"unknown sampler(s) {', '.join(unknown)}; allowed: {', '.join(SAMPLERS)}", param_hint="--samplers"
        )
    _check_networks(samplers, amortizer, supervised_path)
    options = dict(
        steps=steps,
        dps_steps=dps_steps,
        dps_zeta=dps_zeta,
        lr=lr,
        adam_out=adam_out,
        adam_in=adam_in,
        window=window,
        amortizer=amortizer,
        supervised=supervised_path,
        inner_steps=inner_steps,
        ddrm_steps=ddrm_steps,
        ddrm_eta=ddrm_eta,
        diffpir_steps=diffpir_steps,
        diffpir_lambda=diffpir_lambda,
        diffpir_zeta=diffpir_zeta,
    )
    # the JSON states every setting: fill the baselines' unset options with the registry defaults
    options = {k: DEFAULTS[k] if v is None and k.startswith(("ddrm_", "diffpir_")) else v for k, v in options.items()}
    config = GMMBenchConfig(
        dims=tuple(dims),
        obs_dims=tuple(obs_dims),
        seeds=seeds,
        first_seed=first_seed,
        samples=samples,
        samplers=tuple(samplers),
        sigma=sigma,
        family=family,
        sampler_options=options,
        workers=workers,
    )
    partial = None if json_path is None else json_path.with_name(json_path.name + ".partial.jsonl")
    out = run_gmm_benchmark(config, build_sampler, progress=not quiet, partial_path=partial)
    click.echo(format_table(out["results"]))
    if json_path is not None:
        _write_json(json_path, out)
        partial.unlink(missing_ok=True)  # everything is in the JSON now
        click.echo(f"wrote {json_path}")


@bench.command("pareto")
@click.option("--dim", default=80, show_default=True, type=click.IntRange(1), help="Signal dimension.")
@click.option(
    "--amortizer",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Trained amortizer (.safetensors); without it only MGDM/DPS points are drawn.",
)
@click.option(
    "--supervised",
    "supervised_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Trained supervised baseline (.safetensors).",
)
@click.option(
    "--id",
    "id_spec",
    default="dense:1",
    show_default=True,
    help="In-distribution family FAMILY:D_Y[@SIGMA] (the amortizer's training family).",
)
@click.option(
    "--ood",
    "ood_specs",
    cls=ListOption,
    default=("mask:4", "dense:4", "dense:1@0.25"),
    show_default=True,
    help="Out-of-distribution families (space-separated).",
)
@click.option("--sigma", default=1.0, show_default=True, type=float, help="Default sigma_y of the families.")
@click.option("--seeds", default=10, show_default=True, type=click.IntRange(2))
@click.option("--first-seed", default=0, show_default=True, type=int)
@click.option("--samples", default=1000, show_default=True, type=click.IntRange(2))
@click.option("--steps", default=100, show_default=True, type=click.IntRange(4), help="Grid size N.")
@click.option("--window", default=30, show_default=True, type=int)
@click.option("--lr", default=0.1, show_default=True, type=float)
@click.option("--mgdm-out", cls=ListOption, item_type=int, default=(1, 3, 5), show_default=True)
@click.option("--mgdm-in", cls=ListOption, item_type=int, default=(0, 1, 3, 10, 20), show_default=True)
@click.option("--lavps-in", cls=ListOption, item_type=int, default=(0, 1, 3), show_default=True)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1))
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("pareto.json"),
    show_default=True,
)
@click.option(
    "--png",
    "png_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Plot path (default: the JSON path with .png).",
)
@click.option("--quiet", is_flag=True)
def bench_pareto(
    dim,
    amortizer,
    supervised_path,
    id_spec,
    ood_specs,
    sigma,
    seeds,
    first_seed,
    samples,
    steps,
    window,
    lr,
    mgdm_out,
    mgdm_in,
    lavps_in,
    workers,
    json_path,
    png_path,
    quiet,
):
    """SW-versus-seconds sweep of MGDM and LAVPS budgets, ID and OOD panels (JSON + PNG)."""
    from ..evaluation.gmm_bench import GMMBenchConfig
    from ..evaluation.pareto import pareto_entries, parse_panel, run_pareto
    from ..evaluation.plots import plot_pareto
    from ..samplers.registry import build_sampler

    panels = {"id": parse_panel(id_spec, sigma)}
    for spec in ood_specs:
        panels[f"ood:{spec}"] = parse_panel(spec, sigma)
    entries = pareto_entries(
        tuple(mgdm_out), tuple(mgdm_in), tuple(lavps_in), amortizer is not None, supervised_path is not None
    )
    base = GMMBenchConfig(
        dims=(dim,),
        obs_dims=(),  # set per panel
        samplers=(),  # the sweep is in `entries`
        seeds=seeds,
        first_seed=first_seed,
        samples=samples,
        workers=workers,
        sampler_options=dict(steps=steps, window=window, lr=lr, amortizer=amortizer, supervised=supervised_path),
        entries=entries,
    )
    out = run_pareto(base, panels, build_sampler, progress=not quiet)
    for key, panel in out["panels"].items():
        click.echo(f"\n== {key} ({panel['spec']}) ==")
        click.echo(format_table(panel["results"]))
        click.echo("targets: " + json.dumps(panel["targets"], indent=None, default=str))
    _write_json(json_path, out)
    png = png_path or json_path.with_suffix(".png")
    plot_pareto(out, png)
    click.echo(f"wrote {json_path} and {png}")


@bench.command("ratio")
@click.option("--amortizer", "amortizers", cls=ListOption, required=True, help="Amortizer files (space-separated).")
@click.option("--prior", "prior_spec", default="gmm:80:fresh", show_default=True, help="Prior preset.")
@click.option(
    "--families",
    cls=ListOption,
    default=("dense:1", "dense:4", "mask:4"),
    show_default=True,
    help="Operator families (space-separated); FAMILY[@SIGMA] overrides --sigma.",
)
@click.option("--sigma", default=1.0, show_default=True, type=float)
@click.option("--batches", default=8, show_default=True, type=click.IntRange(2))
@click.option("--batch", default=256, show_default=True, type=click.IntRange(1))
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
def bench_ratio(amortizers, prior_spec, families, sigma, batches, batch, json_path):
    """Inner-loss ratio (network / zero-shot start) of amortizers on held-out draws of several families."""
    from ..amortize.checkpoint import load_amortizer
    from ..amortize.training import TrainConfig
    from ..evaluation.amortizer_ratio import loss_ratio
    from ..priors.presets import resolve_prior

    preset = resolve_prior(prior_spec)
    rows = []
    for path in amortizers:
        net = load_amortizer(path, prior=preset.prior)
        win = net.info.get("window", {})
        cfg = TrainConfig(batch_size=batch, grid_steps=win.get("grid_steps", 100), window=win.get("window", 30))
        for spec in families:
            fam, _, sig = spec.partition("@")
            row = loss_ratio(net, preset, fam, float(sig) if sig else sigma, cfg, batches)
            rows.append({"amortizer": str(path), "input_kind": net.input_kind, **row})
            click.echo(f"{net.input_kind:>5} {spec:<14} ratio {row['ratio']:.4f} ± {row['ratio_ci95']:.4f}  ({path})")
    if json_path is not None:
        _write_json(
            json_path,
            {
                "config": {
                    "prior": prior_spec,
                    "families": list(families),
                    "sigma": sigma,
                    "batches": batches,
                    "batch": batch,
                },
                "results": rows,
            },
        )
