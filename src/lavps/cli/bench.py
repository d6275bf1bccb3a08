"""`lavps bench ...`: benchmarks that print tables and write JSON."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .group import cli
from .options import FiniteFloat, ListOption, grouped, option
from .settings import sampler_settings

__all__ = ["bench"]


@cli.group()
def bench() -> None:
    """Benchmarks (tables on stdout, JSON on request)."""


def _check_networks(samplers, amortizer, supervised) -> None:
    if amortizer is None and any(s in ("lavps", "amortized-only") for s in samplers):
        raise click.BadParameter("lavps and amortized-only need --amortizer PATH", param_hint="--amortizer")
    if supervised is None and "supervised" in samplers:
        raise click.BadParameter("supervised needs --supervised PATH", param_hint="--supervised")


@bench.command(
    "gmm",
    renamed={"--seeds": "--problems", "--first-seed": "--seed", "--family": "--operator"},
)
@click.option(
    "--dim",
    "dims",
    cls=ListOption,
    item_type=click.IntRange(1),
    default=(8, 80, 800),
    show_default=True,
    help="Signal dimensions d (space-separated).",
)
@click.option(
    "--obs-dim",
    "obs_dims",
    cls=ListOption,
    item_type=click.IntRange(1),
    default=(1, 2, 4),
    show_default=True,
    help="Observation dimensions d_y >= 1 (space-separated).",
)
@option("problems", default=10)
@option("seed", default=0, help="Seed of the first problem (problem i uses seed + i).")
@option("samples", default=2000)
@click.option(
    "--samplers",
    cls=ListOption,
    default=("dps", "mgdm"),
    show_default=True,
    help="Samplers (space-separated): ddim dps mgdm lavps amortized-only supervised ddrm diffpir. The sampler "
    "settings below apply to every sampler of the run that has them.",
)
@option("amortizer", help="Trained amortizer (.safetensors) for lavps / amortized-only.")
@option("supervised")
@option("sigma", default=1.0)
@click.option(
    "--operator",
    "family",
    default="dense",
    show_default=True,
    type=click.Choice(["dense", "mask"]),
    help="Operator family of the problems: d_y Gaussian rows (dense) or d_y observed coordinates (mask).",
)
@option("workers", default=2, help="Worker processes (one torch thread each).")
@option("json")
@option("quiet")
@grouped("networks", dict, "amortizer", "supervised_path")
@grouped("problem", dict, "dims", "obs_dims", "problems", "seed", "samples", "sigma", "family")
@sampler_settings(None, default_note="each sampler's default", old_spellings=True)
def bench_gmm(problem, samplers, networks, workers, json_path, quiet, settings):
    """Exact-posterior benchmark on the 25-component Gaussian-mixture prior."""
    _check_networks(samplers, networks["amortizer"], networks["supervised_path"])
    from ..evaluation.gmm_bench import GMMBenchConfig, format_table, run_gmm_benchmark
    from ..outputs import bench_output, write_bench_json
    from ..samplers.registry import SAMPLERS, build_sampler

    target = None if json_path is None else bench_output(json_path)  # refused before any work
    unknown = [s for s in samplers if s not in SAMPLERS]
    if unknown:
        raise click.BadParameter(
            f"unknown sampler(s) {', '.join(unknown)}; allowed: {', '.join(SAMPLERS)}", param_hint="--samplers"
        )
    settings.check_used(list(samplers))
    given = {"amortizer": networks["amortizer"], "supervised": networks["supervised_path"]}
    config = GMMBenchConfig(
        dims=tuple(problem["dims"]),
        obs_dims=tuple(problem["obs_dims"]),
        seeds=problem["problems"],
        first_seed=problem["seed"],
        samples=problem["samples"],
        samplers=tuple(samplers),
        sigma=problem["sigma"],
        family=problem["family"],
        sampler_options={name: settings.for_sampler(name) for name in dict.fromkeys(samplers)},
        networks={k: v for k, v in given.items() if v is not None},
        workers=workers,
    )
    partial = None if json_path is None else json_path.with_name(json_path.name + ".partial.jsonl")
    if partial is not None and partial.exists():  # an interrupted run's rows, or a file of the user's: never wiped
        raise FileExistsError(
            f"{partial} exists (the rows of an interrupted run, or a file of yours); move it away to run again"
        )
    out = run_gmm_benchmark(config, build_sampler, progress=not quiet, partial_path=partial)
    click.echo(format_table(out["results"]))
    if json_path is not None:
        write_bench_json(target, out)
        partial.unlink(missing_ok=True)  # everything is in the JSON now
        click.echo(f"wrote {json_path}")


@bench.command(
    "pareto",
    renamed={
        "--seeds": "--problems",
        "--first-seed": "--seed",
        "--mgdm-out": "--adam-out",
        "--mgdm-in": "--adam-in",
        "--lavps-in": "--inner-steps",
    },
)
@click.option("--dim", default=80, show_default=True, type=click.IntRange(1), help="Signal dimension d.")
@option("amortizer", help="Trained amortizer (.safetensors); without it only MGDM/DPS points are drawn.")
@option("supervised")
@click.option(
    "--operator",
    "operators",
    cls=ListOption,
    default=("dense:1", "mask:4", "dense:4", "dense:1@0.25"),
    show_default=True,
    help="Problem families FAMILY:D_Y[@SIGMA] (space-separated), one panel each; the FIRST is the "
    "in-distribution family (the amortizer's training family), the others are out-of-distribution.",
)
@click.option("--id", "id_spec", default=None, hidden=True, help="Deprecated: first --operator.")
@click.option("--ood", "ood_specs", cls=ListOption, default=None, hidden=True, help="Deprecated: other --operator.")
@option("sigma", default=1.0, help="sigma_y of the families without @SIGMA (> 0).")
@option("problems", default=10, type=click.IntRange(2), help="Independent problems per panel (>= 2: intervals).")
@option("seed", default=0, help="Seed of the first problem (problem i uses seed + i).")
@option("samples", default=1000)
@option("steps", default=100)
@option("window", default=30)
@option("lr", default=0.1)
@option("adam_out", several=True, default=(1, 3, 5), help="MGDM and LAVPS Adam steps outside the window (sweep).")
@option("adam_in", several=True, default=(0, 1, 3, 10, 20), help="MGDM Adam steps inside the window (sweep).")
@option("inner_steps", several=True, default=(0, 1, 3), help="LAVPS Adam steps after the guard (sweep).")
@option("workers", default=2, help="Worker processes (one torch thread each).")
@option("json", default=Path("pareto.json"))
@click.option(
    "--png",
    "png_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    show_default="the JSON path with .png",
    help="Plot path.",
)
@option("quiet")
@grouped("networks", dict, "amortizer", "supervised_path")
@grouped("grid", dict, "steps", "window", "lr")
@grouped("sweep", dict, "adam_out", "adam_in", "inner_steps")
@grouped("problem", dict, "dim", "problems", "seed", "samples")
def bench_pareto(
    networks, operators, id_spec, ood_specs, sigma, problem, grid, sweep, workers, json_path, png_path, quiet
):
    """SW-versus-seconds sweep of MGDM and LAVPS budgets, ID and OOD panels (JSON + PNG)."""
    from ..evaluation.gmm_bench import GMMBenchConfig, format_table
    from ..evaluation.pareto import pareto_entries, parse_panel, run_pareto
    from ..evaluation.plots import plot_pareto
    from ..outputs import bench_output, write_bench_json
    from ..samplers.registry import build_sampler

    png = png_path or json_path.with_suffix(".png")
    if png.suffix.lower() != ".png" or png.resolve() == json_path.resolve():  # else it fails after the sweep
        raise click.BadParameter(f"{png} is not a .png path apart from --json {json_path}", param_hint="--png")
    target = bench_output(json_path, [png])  # refused before any work
    if id_spec is not None or ood_specs is not None:
        click.echo("warning: --id/--ood are deprecated and will be removed; use --operator ID [OOD ...]", err=True)
        operators = (id_spec or operators[0], *(ood_specs if ood_specs is not None else operators[1:]))
    panels = {"id": parse_panel(operators[0], sigma)}
    for spec in operators[1:]:
        panels[f"ood:{spec}"] = parse_panel(spec, sigma)
    amortizer, supervised = networks["amortizer"], networks["supervised_path"]
    entries = pareto_entries(
        tuple(sweep["adam_out"]),
        tuple(sweep["adam_in"]),
        tuple(sweep["inner_steps"]),
        amortizer is not None,
        supervised is not None,
    )
    base = GMMBenchConfig(
        dims=(problem["dim"],),
        obs_dims=(),  # set per panel
        samplers=(),  # the sweep is in `entries`
        seeds=problem["problems"],
        first_seed=problem["seed"],
        samples=problem["samples"],
        workers=workers,
        # the swept samplers' grid; DPS, the reference row, keeps its own defaults (1000 steps)
        sampler_options={
            **{name: dict(grid) for name in ("mgdm", "lavps", "amortized-only")},
            "supervised": {"steps": grid["steps"]},
        },
        networks={k: v for k, v in dict(amortizer=amortizer, supervised=supervised).items() if v is not None},
        entries=entries,
    )
    out = run_pareto(base, panels, build_sampler, progress=not quiet)
    for key, panel in out["panels"].items():
        click.echo(f"\n== {key} ({panel['spec']}) ==")
        click.echo(format_table(panel["results"]))
        click.echo("targets: " + json.dumps(panel["targets"], indent=None, default=str))
    write_bench_json(target, out, lambda folder: plot_pareto(out, folder / png.name))
    click.echo(f"wrote {json_path} and {png}")


@bench.command("ratio", renamed={"--families": "--operator", "--batch": "--batch-size"})
@click.option("--amortizer", "amortizers", cls=ListOption, required=True, help="Amortizer files (space-separated).")
@click.option(
    "--prior", "prior_spec", default="gmm:80:fresh", show_default=True, help="Prior preset (see train-amortizer)."
)
@click.option(
    "--operator",
    "families",
    cls=ListOption,
    default=("dense:1", "dense:4", "mask:4"),
    show_default=True,
    help="Operator families (space-separated); FAMILY[@SIGMA] overrides --sigma.",
)
@option("sigma", default=1.0)
@click.option("--batches", default=8, show_default=True, type=click.IntRange(2), help="Held-out batches (>= 2).")
@option("batch_size", default=256, help="Problems per batch.")
@option("json")
def bench_ratio(amortizers, prior_spec, families, sigma, batches, batch_size, json_path):
    """Inner-loss ratio (network / zero-shot start) of amortizers on held-out draws of several families."""
    from ..amortize.checkpoint import load_amortizer
    from ..evaluation.amortizer_ratio import loss_ratio
    from ..outputs import bench_output, write_bench_json
    from ..priors.specs import resolve_prior
    from ..training.networks import TrainConfig
    from ..training.problems import prior_family

    target = None if json_path is None else bench_output(json_path)  # refused before any work
    preset = resolve_prior(prior_spec)
    # Everything is parsed and loaded before the first ratio is computed.
    parsed = []
    for spec in families:
        fam, _, sig = spec.partition("@")
        prior_family(fam, preset.prior)
        try:
            parsed.append((spec, fam, FiniteFloat(min=0.0, min_open=True).convert(sig, None, None) if sig else sigma))
        except click.BadParameter as e:
            raise click.BadParameter(f"{spec}: sigma {e.message}", param_hint="--operator") from None
    nets = [(path, load_amortizer(path, prior=preset.prior)) for path in amortizers]
    rows = []
    for path, net in nets:
        win = net.info.get("window", {})
        cfg = TrainConfig(batch_size=batch_size, grid_steps=win.get("grid_steps", 100), window=win.get("window", 30))
        for spec, fam, sig in parsed:
            row = loss_ratio(net, preset, fam, sig, cfg, batches)
            rows.append({"amortizer": str(path), "input_kind": net.input_kind, **row})
            click.echo(f"{net.input_kind:>5} {spec:<14} ratio {row['ratio']:.4f} ± {row['ratio_ci95']:.4f}  ({path})")
    if json_path is not None:
        write_bench_json(
            target,
            {
                "config": {
                    "prior": prior_spec,
                    "families": list(families),
                    "sigma": sigma,
                    "batches": batches,
                    "batch_size": batch_size,
                },
                "results": rows,
            },
        )


@bench.command("speed")
@click.option("--quick", is_flag=True, help="The same layout at 16x16x3 with tiny budgets (seconds on a CPU).")
@click.option(
    "--samplers", cls=ListOption, default=("dps", "mgdm", "lavps"), show_default=True, help="Any of dps mgdm lavps."
)
@click.option(
    "--batch-size",
    "batch",
    cls=ListOption,
    item_type=click.IntRange(1),
    default=None,
    show_default="1 8; 1 2 with --quick",
    help="Sampling batch sizes to time (space-separated).",
)
@option("precision", several=True, default=("fp32", "bf16"), help="Precisions of the prior's network to time.")
@option("device")
@option("json")
@option("noise_on_device")
@option("prior_path", default=None, show_default="a random ADM (ffhq flags)", help="Time this prior spec instead.")
@option("quiet", help="No per-run progress lines.")
def bench_speed(quick, samplers, batch, precision, device, noise_on_device, prior_path, json_path, quiet):
    """Seconds per image, network passes and peak memory of DPS / MGDM / LAVPS on a random ADM-sized
    256x256x3 prior at the paper's budgets, and the ratio to DDIM on the same grid."""
    from dataclasses import replace

    from ..device import precision_dtype, resolve_device
    from ..evaluation.speed_bench import QUICK, SpeedSettings, format_speed_table, run_speed_benchmark
    from ..outputs import bench_output, write_bench_json

    target = None if json_path is None else bench_output(json_path)  # refused before any work

    bad = [s for s in samplers if s not in ("dps", "mgdm", "lavps")]
    if bad:
        raise click.BadParameter(
            f"unknown sampler(s) {', '.join(bad)}; allowed: dps, mgdm, lavps", param_hint="--samplers"
        )
    for p in precision:
        precision_dtype(p)
    resolve_device(device)
    settings = QUICK if quick else SpeedSettings()
    settings = replace(
        settings, samplers=tuple(samplers), precisions=tuple(precision), device=device, noise_on_device=noise_on_device
    )
    if batch:
        settings = replace(settings, batch_sizes=tuple(batch))
    prior = None
    if prior_path is not None:
        from ..api import load_prior

        prior = load_prior(prior_path)
    out = run_speed_benchmark(settings, progress=not quiet, prior=prior)
    out["config"]["prior"] = prior_path or "random ADM (guided-diffusion flags above)"
    if prior is not None:  # the weights timed, whatever the spec's paths name later
        from ..priors.specs import prior_fingerprint

        out["config"]["prior_fingerprint"] = prior_fingerprint(prior)
    click.echo(format_speed_table(out))
    if json_path is not None:
        write_bench_json(target, out)
        click.echo(f"wrote {json_path}")
