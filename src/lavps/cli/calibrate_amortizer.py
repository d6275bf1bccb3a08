"""`lavps calibrate-amortizer`: fit the variance temperature of LAVPS's `fastest` (or `reference`) per operator
family."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..constants import CALIBRATED_PRESETS, DRAWS
from .group import cli
from .options import FiniteFloat, ListOption, grouped, option

__all__ = ["calibrate_amortizer_command"]


@cli.command("calibrate-amortizer")
@option("prior_path", show_default="mnist")
@option("amortizer", show_default="the shipped one for the prior")
@click.option(
    "--operator",
    "operators",
    cls=ListOption,
    default=None,
    show_default="the linear families of the amortizer's card",
    help="Operator family specs to fit (space-separated), e.g. sr:4 box:0.3:0.5.",
)
@click.option(
    "--preset",
    type=click.Choice(CALIBRATED_PRESETS),
    default="fastest",
    show_default=True,
    help="The LAVPS preset to fit: fastest (what auto runs on the amortizer's training families) or reference "
    "(what auto runs on any other linear family: give that family with --operator).",
)
@click.option(
    "--temperatures",
    cls=ListOption,
    item_type=FiniteFloat(min=0.0, min_open=True),
    default=(1.5, 2.0, 2.5),
    show_default=True,
    help="The grid of variance temperatures (>= 2 distinct values > 0).",
)
@click.option(
    "--draws",
    cls=ListOption,
    type=click.Choice(DRAWS),
    default=("diagonal",),
    show_default=True,
    help="Ways of drawing x_tau to fit (diagonal: the network's mean-field variance; linearised: the linearised "
    "inner problem's full covariance); with both, each family keeps the one of lower energy score.",
)
@option("problems", default=24, help="Independent problems per family (each its own x*, operator draw and y).")
@option("samples", default=15, help="Posterior samples K per problem.")
@option("prior_steps", default=250)
@option("sigma", default=0.05)
@option("seed", default=500, help="Seed of every draw (use problems no report uses).")
@click.option(
    "--out",
    "out_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The calibrated amortizer (.safetensors); its card beside it (.json) and the fit's report "
    "(.calibration.json).",
)
@option("overwrite")
@option("quiet")
@grouped("grid", dict, "preset", "temperatures", "draws")
def calibrate_amortizer_command(
    prior_path,
    amortizer,
    operators,
    grid,
    problems,
    samples,
    prior_steps,
    sigma,
    seed,
    out_path,
    overwrite,
    quiet,
):
    """Fit, per operator family, the variance temperature that makes LAVPS's `fastest` preset calibrated (and,
    with several --draws, the way of drawing x_tau of lower energy score), and write a copy of the amortizer
    whose card carries the table (`fastest`, and `auto` where it runs it, then take the family's temperature
    instead of 2, and its draw). With --preset reference the same for `reference` on families the amortizer
    was not trained on (`auto` runs `reference` there, at temperature 1 unless the card has a fit).

    On draws from the prior itself (where the posterior is right), for each temperature of the grid: K
    samples per problem, the pooled spread ratio of the truth's distance to the samples' mean over the
    samples' own (1 when calibrated, > 1 too narrow); the fitted temperature is where a line of log ratio
    against log temperature crosses 0, clamped to the grid (docs/calibration.md). The card's fits of other
    families are kept (listed under "earlier_fits"); the families fitted now replace theirs."""
    from ..amortize.checkpoint import load_amortizer, save_amortizer
    from ..amortize.defaults import default_amortizer_path
    from ..amortize.network import trained_families, trained_family_for
    from ..api import load_prior
    from ..constants import calibration_key
    from ..evaluation.temperature_fit import TemperatureFitConfig, fit_temperatures, merge_fits
    from ..jsonfile import write_json
    from ..operators.spec import parse_operator_spec
    from ..priors.latent import LatentPrior

    preset = grid["preset"]  # what is fitted: the preset, its temperatures and draws
    if out_path.suffix not in ("", ".safetensors"):  # NAME.json would be the card's own name
        raise ValueError(f"--out {out_path}: an amortizer is written as NAME.safetensors (card NAME.json beside it)")
    out_path = out_path.with_suffix(".safetensors")
    targets = [out_path, out_path.with_suffix(".json"), out_path.with_name(out_path.stem + ".calibration.json")]
    _refuse_replacing(targets, overwrite)  # before any work
    prior = load_prior(prior_path)
    if isinstance(prior, LatentPrior):
        raise ValueError("calibrate-amortizer fits LAVPS on a pixel prior; a latent prior's presets take no card fit")
    shape = tuple(prior.shape)
    source = amortizer or default_amortizer_path(prior, True)
    net = load_amortizer(source, prior=prior)
    if operators:
        families = []
        for spec in operators:
            family = parse_operator_spec(spec, shape)
            if not family.linear:
                raise ValueError(f"{spec!r} is not a linear operator family: the fit runs on linear-Gaussian problems")
            families.append(family.spec)
    elif preset != "fastest":  # the card's families run fastest under auto: a reference fit needs its families
        raise ValueError("--preset reference needs --operator: the families auto runs reference on are not on the card")
    else:
        families = sorted(f for f in trained_families(net, shape) if parse_operator_spec(f, shape).linear)
        if not families:
            raise ValueError(f"the card of {source} names no linear operator family; give --operator")
    config = TemperatureFitConfig(
        families=tuple(dict.fromkeys(families)), temperatures=tuple(float(t) for t in grid["temperatures"]),
        draws=tuple(dict.fromkeys(grid["draws"])), problems=problems, samples=samples, prior_steps=prior_steps,
        seed=seed, sigma=sigma, preset=preset,
    )  # fmt: skip
    if preset == "reference":  # say where the fit will not be what auto runs
        covered = [f for f in config.families if trained_family_for(net, f, shape) is not None]
        if covered:
            click.echo(
                f"note: auto runs fastest on {', '.join(covered)} (inside the amortizer's training families); "
                "their reference fit applies where --preset reference is asked for",
                err=True,
            )
    record = fit_temperatures(config, prior, net, progress=not quiet)
    results = record.pop("results")
    record["fit"]["prior"] = prior_path or "mnist"
    record["fit"]["amortizer"] = str(source)
    click.echo(_table(record, config))
    # the families fitted now replace their entries; the card's other families keep theirs
    key = calibration_key(preset)
    record = merge_fits((getattr(net, "info", None) or {}).get(key), record)
    kept = [f for fit in record.get("earlier_fits", []) for f in fit["families"]]
    if kept:
        click.echo(f"kept from the card's earlier fits: {', '.join(kept)}")
    net.info = {**(getattr(net, "info", None) or {}), key: record}
    # each file is written to a temporary name and renamed (never half-written); the report first, so a card
    # never points at a fit whose report is missing
    write_json(targets[2], {**record, "results": results})
    save_amortizer(net, out_path, _card(Path(source), key, record))
    click.echo(f"wrote {out_path} (card {targets[1].name}, report {targets[2].name})")


def _refuse_replacing(targets: list[Path], overwrite: bool) -> None:
    """Refuse to replace an existing output without --overwrite, and with it anything but an earlier amortizer
    (its weights, its card beside them) and an earlier fit's report: a user's file of those names is kept."""
    from ..amortize.checkpoint import AMORTIZER_KIND
    from ..priors.checkpoint import read_header

    weights, card, report = targets
    present = [p for p in targets if p.exists()]
    if present and not overwrite:
        raise FileExistsError(f"{present[0]} exists (use --overwrite)")

    def is_fit_report(path: Path) -> bool:
        try:
            return isinstance(payload := json.loads(path.read_text()), dict) and "fit" in payload
        except (OSError, ValueError):
            return False

    # an amortizer is this command's own output only beside the fit report it wrote: a network that
    # train-amortizer wrote (or the shipped one) has none, and is never replaced by a calibrated copy
    fitted_here = is_fit_report(report)
    for path in present:
        try:
            if path == weights or path == card:  # the card belongs to the amortizer beside it
                ours = fitted_here and weights.is_file() and read_header(weights, AMORTIZER_KIND) is not None
            else:
                ours = fitted_here
        except (OSError, ValueError):
            ours = False
        if not ours:
            raise FileExistsError(
                f"--out would replace {path}, which is not an earlier output of calibrate-amortizer (an amortizer "
                f"beside its report {report.name}); choose another --out"
            )


def _card(source: Path, key: str, record: dict) -> dict | None:
    """The source's JSON card (its human-readable record) with the fit added under `key`; None (the header as
    card) when the source has none or it does not parse."""
    try:
        card = json.loads(source.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return None
    return {**card, key: record} if isinstance(card, dict) else None


def _table(record: dict, config) -> str:
    temps = [f"{t:g}" for t in config.temperatures]
    head = f"{'family':<22}{'draw':<12}" + "".join(f"{'ratio T=' + t:>13}" for t in temps)
    head += f"{'fitted T':>10}{'ES there':>10}  how"
    lines = [
        f"Spread ratio of `{config.preset}` on prior draws (1 = calibrated, > 1 too narrow), the fitted temperature "
        "and the energy score there, interpolated on the grid (* = the draw kept):"
    ]
    lines.append(head)
    for family in config.families:
        for draw, cell in record["by_draw"][family].items():
            cells = "".join(f"{cell['spread_ratio'][t]:>13.3f}" for t in temps)
            mark = "*" if record["draw"][family] == draw else " "
            lines.append(
                f"{family:<22}{draw + mark:<12}{cells}{cell['temperature']:>10.2f}{cell['energy_score_at_fit']:>10.4f}"
                f"  {cell['how']}"
            )
    return "\n".join(lines)
