"""`lavps bench paper`: the LAVPS paper's protocol on your prior and a folder of clean images."""

from __future__ import annotations

import time
from pathlib import Path

import click

from .bench import bench
from .options import ListOption, grouped, option
from .settings import sampler_settings

__all__ = ["bench_paper"]

_TASKS = ("paper:mb_21_0.9", "paper:sr_4")
_QUICK_IMAGES = 2


@bench.command("paper")
@click.argument("images", required=False)
@option("prior_path")
@option("class_label")
@option("amortizer", show_default="the shipped amortizer (MNIST prior)")
@click.option(
    "--operator",
    "tasks",
    cls=ListOption,
    default=_TASKS,
    show_default=True,
    help="Operator specs of the tasks (space-separated), e.g. the paper's paper:NAME (docs/paper_tasks.md).",
)
@click.option(
    "--samplers", cls=ListOption, default=("dps", "mgdm", "lavps"), show_default=True, help="Any of dps mgdm lavps."
)
@click.option(
    "--preset",
    default=None,
    show_default="lavps-paper; tiny with --quick",
    help="Budget preset of every sampler (lavps.samplers.presets; lavps-paper: the paper's official configs).",
)
@click.option(
    "--quick", is_flag=True, help=f"tiny budgets and {_QUICK_IMAGES} images: checks the pipeline on a CPU in seconds."
)
@click.option(
    "--images",
    "count",
    default=None,
    type=click.IntRange(1),
    show_default=f"all; {_QUICK_IMAGES} with --quick",
    help="Use the first N images (sorted by name).",
)
@option("sigma", default=0.05, help="Observation noise sigma_y (> 0); the paper's 0.05.")
@option("seed", default=0, help="Run seed: image NAME gets its operator, noise and sampler seed from (seed, NAME).")
@option("batch_size", default=1, help="Images per sampler call (seconds per image = the call's seconds / images).")
@click.option(
    "--out",
    "out_dir",
    default=Path("lavps-paper-bench"),
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Report folder (per_image.csv, summary.csv, paper.json, pareto.png, images/).",
)
@option("overwrite", help="Replace an earlier report in --out.")
@option("device")
@option("precision")
@option("quiet", help="No progress lines.")
@grouped("prior", dict, "prior_path", "class_label", "device", "precision", "amortizer")
@grouped("problem", dict, "tasks", "sigma", "seed", "count", "batch_size")
@grouped("output", dict, "out_dir", "overwrite", "quiet")
@sampler_settings(("dps", "mgdm", "lavps"), default_note="the preset's")
def bench_paper(images, prior, problem, samplers, preset, quick, output, settings):
    """The paper's protocol: PSNR / SSIM (LPIPS when installed) per image, mean ± 95% table, Pareto plot.

    IMAGES: a folder or glob of clean images, fitted (centre crop + resize) to the prior's image shape; without
    it, held-out MNIST test digits (a prior of 1x32x32 images only). Every sampler restores the same
    simulated observation of each image. Meant for a GPU; --quick runs on a CPU."""
    from ..device import prior_device
    from ..evaluation.lpips_metric import load_lpips
    from ..evaluation.paper_bench import PaperBenchConfig
    from ..outputs import OutputFolder

    unknown = [s for s in samplers if s not in ("dps", "mgdm", "lavps")]
    if unknown:
        raise ValueError(f"unknown sampler(s) {', '.join(unknown)}; allowed: dps, mgdm, lavps")
    settings.check_used(list(samplers))
    target = OutputFolder(output["out_dir"], "paper.json", output["overwrite"])  # refused before any work
    loaded, clean, source = _inputs(images, prior, problem["count"] or (_QUICK_IMAGES if quick else None))
    config = PaperBenchConfig(
        tasks=tuple(problem["tasks"]),
        samplers=tuple(dict.fromkeys(samplers)),
        preset=preset or ("tiny" if quick else "lavps-paper"),
        settings={name: settings.for_sampler(name) for name in samplers},
        sigma=problem["sigma"],
        seed=problem["seed"],
        batch_size=problem["batch_size"],
        amortizer=prior["amortizer"],
    )
    metric = load_lpips(prior_device(loaded))
    if metric.score is None:
        click.echo(f"LPIPS skipped: {metric.reason}")
    with target as tmp:
        report = _run(config, loaded, clean, tmp, metric, output["quiet"])
        report["config"].update(images=source, prior=prior["prior_path"] or "mnist", class_label=prior["class_label"])
        _write(report, tmp)
    click.echo(report["table"])
    click.echo(f"report: {output['out_dir']} (per_image.csv, summary.csv, paper.json, pareto.png)")


def _inputs(images, prior: dict, count: int | None):
    """(loaded prior, {name: clean image}, where the images came from); everything checked before any work."""
    from ..api import load_prior

    spec = prior["prior_path"]
    if prior["class_label"] is not None:
        from ..priors.hdit.loader import with_class_label

        spec = with_class_label(str(spec or "mnist"), prior["class_label"])
    from ..priors.latent import image_shape

    loaded = load_prior(spec, device=prior["device"], precision=prior["precision"])
    shape = image_shape(loaded)  # the images a latent prior decodes to
    if images is None:
        if shape != (1, 32, 32):
            raise ValueError(
                f"give a folder of clean images: held-out MNIST digits fit only a 1x32x32 prior, not {shape}"
            )
        from ..evaluation.demo import held_out_digits

        digits, _, index = held_out_digits(count or 10)
        return loaded, {f"digit_{i:03d}": d for i, d in zip(index, digits, strict=True)}, "mnist test digits"
    from ..data.folder import list_images
    from ..imaging.fit import read_fitted

    found = list_images(images)
    files = sorted(found.files, key=found.name)[:count]
    names = [found.name(p).rsplit(".", 1)[0] for p in files]
    if len(set(names)) != len(names):
        raise ValueError(f"two images of {images} have the same name without suffix; rename one")
    return loaded, {n: read_fitted(p, shape) for n, p in zip(names, files, strict=True)}, str(images)


def _run(config, prior, clean: dict, tmp: Path, metric, quiet: bool) -> dict:
    from dataclasses import asdict

    from ..device import prior_device, prior_precision
    from ..evaluation.paper_bench import format_paper_table, run_paper_bench
    from ..priors.specs import prior_fingerprint

    start = time.perf_counter()
    if not quiet:
        click.echo(f"{len(clean)} image(s) x {len(config.tasks)} task(s) x {len(config.samplers)} sampler(s)")
    out = run_paper_bench(config, prior, clean, tmp, metric)
    config_record = {k: v for k, v in asdict(config).items() if k != "amortizer"}
    config_record["amortizer"] = str(config.amortizer or "shipped")
    out["config"] = {
        **config_record,
        "device": str(prior_device(prior)),
        "precision": prior_precision(prior),
        "prior_fingerprint": prior_fingerprint(prior),
        "lpips": "alex v0.1" if metric.score is not None else f"skipped: {metric.reason}",
        "seconds_total": time.perf_counter() - start,
    }
    out["table"] = format_paper_table(out["summary"])
    return out


def _write(report: dict, folder: Path) -> None:
    import csv

    from ..evaluation.paper_bench import ROW_COLUMNS
    from ..evaluation.plots import plot_quality_vs_seconds
    from ..jsonfile import write_json

    for name, rows, columns in (
        ("per_image.csv", report["rows"], ROW_COLUMNS),
        ("summary.csv", report["summary"], list(report["summary"][0])),
    ):
        with (folder / name).open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows({k: _cell(r.get(k)) for k in columns} for r in rows)
    plot_quality_vs_seconds(report["summary"], folder / "pareto.png")
    write_json(folder / "paper.json", {k: v for k, v in report.items() if k != "table"})


def _cell(v):
    if isinstance(v, float):
        return f"{v:.6g}"
    return "" if v is None else v
