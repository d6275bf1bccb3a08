"""`lavps degrade` and `lavps restore`: simulate an observation, then sample its posterior."""

from __future__ import annotations

from pathlib import Path

import click

from .main import cli
from .options import ImageSize, option

__all__ = ["degrade", "restore"]

_SAMPLERS = ["dps", "mgdm", "lavps"]
DEFAULT_SIZE = (1, 32, 32)  # the shipped prior's image size (C, H, W)


def _load_prior(path):
    from ..priors.image_unet import load_image_prior

    return load_image_prior(path)


@cli.command("degrade")
@click.argument("clean", type=click.Path(exists=True, dir_okay=False))
@click.option("--operator", "spec", required=True, help="Operator spec, e.g. motion_blur:9:0.5, sr:2, box:0.3:0.5.")
@option("sigma", required=True, help="Noise level sigma_y (> 0; images in [-1, 1]).")
@option("seed", default=0, help="Draws the operator and the noise.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Observation PNG.")
@click.option(
    "--size",
    type=ImageSize(),
    default=None,
    show_default="1,32,32 (the shipped prior's)",
    help="Image size C,H,W of the clean image and of the operator (the size of the prior you will restore with).",
)
@option("prior_path", hidden=True, help="Deprecated: only sets --size (the prior's image size).")
@option("overwrite", help="Replace existing output files (the PNG and its .operator/.observation/.json).")
def degrade(clean, spec, sigma, seed, out, size, prior_path, overwrite):
    """Simulate an observation of CLEAN.png; also saves the drawn operator and the exact float observation."""
    stem = out.with_suffix("")
    outputs = [out, Path(f"{stem}.operator.safetensors"), Path(f"{stem}.observation.pt"), Path(f"{stem}.json")]
    existing = [str(p) for p in outputs if p.exists()]
    if existing and not overwrite:
        raise click.UsageError(f"{', '.join(existing)} exist(s); pass --overwrite to replace")
    import torch

    from ..imaging.io import read_png, write_png
    from ..imaging.workflow import OperatorSource, resolve_operator, simulate, write_json
    from ..operators.spec import save_operator

    if prior_path is not None:
        click.echo("warning: degrade --prior is deprecated (it only sets the image size); use --size C,H,W", err=True)
        if size is None:
            size = tuple(_load_prior(prior_path).shape)
    c, h, w = size or DEFAULT_SIZE
    x = read_png(clean, c, (h, w))
    op = resolve_operator(OperatorSource(spec=spec, seed=seed), (c, h, w))
    y = simulate(x, op, sigma, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
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
@click.argument("observation", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--operator",
    "spec",
    default=None,
    show_default="none",
    help="Operator spec (a random family is drawn with --op-seed).",
)
@click.option(
    "--kernel",
    default=None,
    show_default="none",
    type=click.Path(exists=True, dir_okay=False),
    help="Blur kernel file (.npy, .png, .txt).",
)
@click.option(
    "--mask",
    default=None,
    show_default="none",
    type=click.Path(exists=True, dir_okay=False),
    help="Mask file (.png, .npy; nonzero = observed).",
)
@click.option(
    "--operator-file",
    default=None,
    show_default="none",
    type=click.Path(exists=True, dir_okay=False),
    help="Operator saved by `lavps degrade` (OBS.operator.safetensors).",
)
@click.option(
    "--op-seed", default=None, type=int, show_default="--seed", help="Seed that draws a random operator spec."
)
@option("sigma", required=True, help="Noise level sigma_y (> 0; images in [-1, 1]).")
@click.option("--sampler", type=click.Choice(_SAMPLERS), default="mgdm", show_default=True, help="Posterior sampler.")
@option("prior_path", show_default="the shipped MNIST prior")
@option("amortizer", show_default="the shipped amortizer", help="Trained amortizer (.safetensors) for lavps.")
@option("seed", default=0, help="Sample i uses seed + i.")
@click.option("--samples", default=1, show_default=True, type=click.IntRange(1), help="Posterior samples to draw.")
@option("steps", default=None, show_default="100; lavps: the amortizer's grid")
@option("adam_out", default=None, show_default="5")
@option("adam_in", default=None, show_default="20")
@option("inner_steps", default=None, show_default="3")
@option("dps_steps", default=None, show_default="500")
@click.option(
    "--reference",
    default=None,
    show_default="none",
    type=click.Path(exists=True, dir_okay=False),
    help="Clean image: adds PSNR/SSIM.",
)
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output folder."
)
@option("overwrite", help="Replace a non-empty output folder.")
@option("quiet")
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
    quiet,
):
    """Sample the posterior of OBSERVATION (a PNG, or the .observation.pt written by `lavps degrade`)."""
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
    prior = _load_prior(prior_path)
    source = OperatorSource(spec, kernel, mask, operator_file, seed if op_seed is None else op_seed)
    op = resolve_operator(source, prior.shape)
    if str(observation).endswith(".pt"):
        payload = torch.load(observation, weights_only=True)
        if not isinstance(payload, dict) or "y" not in payload:
            raise ValueError(f"{observation} is not an observation file written by `lavps degrade`")
        y = payload["y"].float()
    else:
        y = read_png(observation, prior.shape[0], tuple(op.out_shape[1:]))
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
