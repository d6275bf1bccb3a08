"""`lavps degrade` and `lavps restore`: simulate an observation, then sample its posterior."""

from __future__ import annotations

from pathlib import Path

import click

from .main import cli

__all__ = ["degrade", "restore"]

_SAMPLERS = ["dps", "mgdm", "lavps"]


def _load_prior(path):
    from ..priors.image_unet import load_image_prior

    return load_image_prior(path)


@cli.command("degrade")
@click.argument("clean", type=click.Path(dir_okay=False))
@click.option("--operator", "spec", required=True, help="Operator spec, e.g. motion_blur:9:0.5, sr:2, box:0.3:0.5.")
@click.option("--sigma", required=True, type=float, help="Noise level sigma_y (images in [-1, 1]).")
@click.option("--seed", default=0, show_default=True, type=int, help="Draws the operator and the noise.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Observation PNG.")
@click.option("--prior", "prior_path", default=None, help="Prior checkpoint (default: the shipped MNIST prior).")
def degrade(clean, spec, sigma, seed, out, prior_path):
    """Simulate an observation of CLEAN.png; also saves the drawn operator and the exact float observation."""
    import torch

    from ..imaging.io import read_png, write_png
    from ..imaging.workflow import OperatorSource, resolve_operator, simulate, write_json
    from ..operators import GaussianNoise
    from ..operators.spec import save_operator

    GaussianNoise(sigma)
    prior = _load_prior(prior_path)
    c, h, w = prior.shape
    x = read_png(clean, c, (h, w))
    op = resolve_operator(OperatorSource(spec=spec, seed=seed), prior.shape)
    y = simulate(x, op, sigma, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    stem = out.with_suffix("")
    write_png(y[0], out)
    save_operator(op, f"{stem}.operator.safetensors")
    torch.save({"y": y.clone()}, f"{stem}.observation.pt")
    write_json(
        Path(f"{stem}.json"),
        {
            "clean": str(clean),
            "operator": spec,
            "sigma": sigma,
            "seed": seed,
            "observation_shape": list(y.shape[1:]),
            "operator_file": f"{stem.name}.operator.safetensors",
            "observation_file": f"{stem.name}.observation.pt",
        },
    )
    click.echo(f"wrote {out}, {stem}.operator.safetensors, {stem}.observation.pt")


@cli.command("restore")
@click.argument("observation", type=click.Path())
@click.option("--operator", "spec", default=None, help="Operator spec (drawn with --op-seed).")
@click.option("--kernel", default=None, help="Blur kernel file (.npy, .png, .txt).")
@click.option("--mask", default=None, help="Mask file (.png, .npy; nonzero = observed).")
@click.option("--operator-file", default=None, help="Operator saved by `lavps degrade`.")
@click.option("--op-seed", default=None, type=int, help="Seed that draws a random operator spec (default: --seed).")
@click.option("--sigma", required=True, type=float, help="Noise level sigma_y.")
@click.option("--sampler", type=click.Choice(_SAMPLERS), default="mgdm", show_default=True)
@click.option("--prior", "prior_path", default=None, help="Prior checkpoint (default: shipped MNIST prior).")
@click.option("--amortizer", default=None, help="Amortizer checkpoint for lavps (default: the shipped one).")
@click.option("--seed", default=0, show_default=True, type=int, help="Sample i uses seed + i.")
@click.option("--samples", default=1, show_default=True, type=click.IntRange(1))
@click.option("--steps", default=None, type=click.IntRange(4), help="Grid size N (mgdm, lavps).")
@click.option("--adam-out", default=None, type=click.IntRange(0), help="Adam steps outside the window.")
@click.option("--adam-in", default=None, type=click.IntRange(0), help="Adam steps inside the window (mgdm).")
@click.option("--inner-steps", default=None, type=click.IntRange(0), help="LAVPS steps after the guard.")
@click.option("--dps-steps", default=None, type=click.IntRange(3))
@click.option("--reference", default=None, type=click.Path(), help="Clean image (folder mode: folder) for PSNR/SSIM.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace a non-empty output folder.")
@click.option(
    "--simulate",
    default=None,
    help="Folder mode: the inputs are CLEAN images; degrade each with this operator spec and its own seed first.",
)
@click.option(
    "--batch-size", default=4, show_default=True, type=click.IntRange(1), help="Folder mode: images per batch."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def restore(
    observation,
    spec,
    kernel,
    mask,
    operator_file,
    op_seed,
    sigma,
    sampler,
    prior_path,
    amortizer,
    seed,
    samples,
    steps,
    adam_out,
    adam_in,
    inner_steps,
    dps_steps,
    reference,
    out_dir,
    overwrite,
    simulate,
    batch_size,
    quiet,
):
    """Sample the posterior of OBSERVATION (a PNG, or the .observation.pt written by `lavps degrade`).

    OBSERVATION may also be a folder (searched recursively) or a glob: every image is restored into
    OUT/<name>/, with OUT/metrics.csv; see docs/scale.md (torchrun shards the images over ranks).
    """
    import torch

    from ..amortize.defaults import default_amortizer_path
    from ..evaluation.image_metrics import psnr, ssim
    from ..imaging.io import read_png, write_png
    from ..imaging.workflow import (
        IMAGE_DEFAULTS,
        OperatorSource,
        atomic_dir,
        posterior_samples,
        resolve_operator,
        timestamp,
        write_json,
    )
    from ..operators import GaussianNoise

    GaussianNoise(sigma)
    folder = Path(observation).is_dir() or any(ch in str(observation) for ch in "*?[")
    if simulate is not None and not folder:
        raise ValueError("--simulate restores a folder of clean images; give a folder or a glob")
    if simulate is not None and spec is not None:
        raise ValueError("give --simulate SPEC (clean inputs) or --operator SPEC (observations), not both")
    prior = _load_prior(prior_path)
    source = OperatorSource(simulate or spec, kernel, mask, operator_file, seed if op_seed is None else op_seed)
    op = resolve_operator(source, prior.shape)
    options = {
        k: v
        for k, v in dict(
            steps=steps, adam_out=adam_out, adam_in=adam_in, inner_steps=inner_steps, dps_steps=dps_steps
        ).items()
        if v is not None
    }
    amortizer_setting = {}
    if sampler == "lavps":
        from ..amortize.checkpoint import load_amortizer

        amortizer_setting = {"amortizer": str(amortizer or default_amortizer_path())}
        net = load_amortizer(amortizer or default_amortizer_path(), prior=prior)
        options["amortizer"] = net
        # Use the grid and window the amortizer was trained for unless the user chose a grid.
        trained = (getattr(net, "info", None) or {}).get("window", {})
        if steps is None and "grid_steps" in trained:
            options["steps"] = int(trained["grid_steps"])
            options["window"] = int(trained.get("window", IMAGE_DEFAULTS["window"]))
    if folder:
        if samples != 1 or overwrite:
            raise ValueError(
                "a folder is restored with one sample per image and resumed in --out: drop --samples/--overwrite"
            )
        from ..imaging.folder import FolderJob, restore_folder
        from ..operators.spec import parse_operator_spec
        from ..training.distributed import init_from_env

        init_from_env()
        plain = {k: v for k, v in options.items() if k != "amortizer"}
        settings = {
            "source": str(observation),
            "simulate": simulate is not None,
            "operator": source.describe(),
            "sigma": sigma,
            "sampler": sampler,
            "options": {**IMAGE_DEFAULTS, **plain, **amortizer_setting},
            "seed": seed,
            "prior": str(prior_path or "shipped"),
            "references": reference,
        }
        family = None if simulate is None else parse_operator_spec(simulate, tuple(prior.shape))
        job = FolderJob(
            str(observation),
            op,
            sigma,
            sampler,
            options,
            seed=seed,
            batch_size=batch_size,
            simulate=simulate is not None,
            references=reference,
            settings=settings,
            family=family,
        )
        report = restore_folder(job, prior, out_dir, progress=not quiet)
        if report.metrics_path.is_file():
            click.echo(
                f"restored {report.restored} image(s) in {report.seconds:.1f} s on this rank "
                f"({report.finished_before} already done, {report.skipped} file(s) skipped); {report.metrics_path}"
            )
        return
    if str(observation).endswith(".pt"):
        payload = torch.load(observation, weights_only=True)
        if not isinstance(payload, dict) or "y" not in payload:
            raise ValueError(f"{observation} is not an observation file written by `lavps degrade`")
        y = payload["y"].float()
    else:
        y = read_png(observation, prior.shape[0], tuple(op.out_shape[1:]))
    with atomic_dir(out_dir, overwrite) as tmp:
        result = posterior_samples(y, op, sigma, prior, sampler, samples, seed, options, progress=not quiet)
        x = result.samples
        rows = [{"index": i, "seed": seed + i} for i in range(samples)]
        if reference is not None:
            ref = read_png(reference, prior.shape[0], tuple(prior.shape[1:]))
            for i, (p, s) in enumerate(zip(psnr(x, ref.expand_as(x)), ssim(x, ref.expand_as(x)), strict=True)):
                rows[i].update(psnr=float(p), ssim=float(s))
        for i in range(samples):
            write_png(x[i], tmp / f"reconstruction_{i:03d}.png")
        write_png(y[0], tmp / "observation.png")
        if samples > 1:
            write_png(x.mean(0), tmp / "posterior_mean.png")
            std = x.std(0)
            write_png(std, tmp / "posterior_std.png", value_range=(0.0, max(float(std.max()), 1e-8)))
        write_json(
            tmp / "restore.json",
            {
                "date": timestamp(),
                "observation": str(observation),
                "operator": source.describe(),
                "sigma": sigma,
                "sampler": sampler,
                "settings": {**IMAGE_DEFAULTS, **options, **amortizer_setting},
                "prior": str(prior_path or "shipped"),
                "samples": rows,
                "cost": result.cost.to_dict(),
                "seconds_per_sample": result.cost.seconds / samples,
                "info": result.info,
            },
        )
    click.echo(
        f"wrote {samples} reconstruction(s) to {out_dir} in {result.cost.seconds:.1f} s "
        f"({result.cost.denoiser_forwards} denoiser forwards, {result.cost.denoiser_backwards} backwards)"
    )
