"""`lavps degrade` and `lavps restore`: simulate an observation, then sample its posterior."""

from __future__ import annotations

from pathlib import Path

import click

from .main import cli

__all__ = ["degrade", "restore"]

_SAMPLERS = ["dps", "mgdm", "lavps"]


def _load_prior(path, device="cpu", precision="fp32"):
    """The prior on its device in its precision; the device is checked before anything is loaded."""
    from ..device import precision_dtype, resolve_device
    from ..priors.image_unet import load_image_prior
    from ..priors.placement import place_prior

    dev, dtype = resolve_device(device), precision_dtype(precision)
    return place_prior(load_image_prior(path), dev, dtype)


def _fit_option(f):
    return click.option(
        "--fit",
        type=click.Choice(["crop", "resize"]),
        default=None,
        help="Make an image of another size/channel count fit the prior: centre-crop or resize (default: error).",
    )(f)


def _device_options(f):
    f = click.option(
        "--precision",
        type=click.Choice(["fp32", "bf16", "fp16"]),
        default="fp32",
        show_default=True,
        help="Precision of the prior's network (the variational parameters and likelihood stay fp32).",
    )(f)
    f = click.option(
        "--noise-on-device", is_flag=True, help="Draw the noise on the device (faster on a GPU; default: CPU)."
    )(f)
    return click.option(
        "--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps (the prior's network)."
    )(f)


@cli.command("degrade")
@click.argument("clean", type=click.Path(dir_okay=False))
@click.option("--operator", "spec", required=True, help="Operator spec, e.g. motion_blur:9:0.5, sr:2, box:0.3:0.5.")
@click.option("--sigma", required=True, type=float, help="Noise level sigma_y (images in [-1, 1]).")
@click.option("--seed", default=0, show_default=True, type=int, help="Draws the operator and the noise.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Observation PNG.")
@click.option("--prior", "prior_path", default=None, help="Prior checkpoint (default: the shipped MNIST prior).")
@_fit_option
def degrade(clean, spec, sigma, seed, out, prior_path, fit):
    """Simulate an observation of CLEAN.png; also saves the drawn operator and the exact float observation."""
    import torch

    from ..imaging.io import load_image, write_image
    from ..imaging.workflow import OperatorSource, resolve_operator, simulate, write_json
    from ..operators import GaussianNoise
    from ..operators.spec import save_operator

    GaussianNoise(sigma)
    prior = _load_prior(prior_path)
    x = load_image(clean, prior.shape, fit)
    op = resolve_operator(OperatorSource(spec=spec, seed=seed), prior.shape)
    y = simulate(x, op, sigma, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    stem = out.with_suffix("")
    write_image(y[0], out)
    save_operator(op, f"{stem}.operator.safetensors")
    torch.save({"y": y.clone()}, f"{stem}.observation.pt")
    write_json(
        Path(f"{stem}.json"),
        {
            "clean": str(clean),
            "operator": spec,
            "sigma": sigma,
            "seed": seed,
            "fit": fit,
            "observation_shape": list(y.shape[1:]),
            "operator_file": f"{stem.name}.operator.safetensors",
            "observation_file": f"{stem.name}.observation.pt",
        },
    )
    click.echo(f"wrote {out}, {stem}.operator.safetensors, {stem}.observation.pt")


@cli.command("restore")
@click.argument("observation", type=click.Path(dir_okay=False))
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
@click.option("--reference", default=None, type=click.Path(dir_okay=False), help="Clean image: adds PSNR/SSIM.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace a non-empty output folder.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_fit_option
@_device_options
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
    fit,
    device,
    precision,
    noise_on_device,
):
    """Sample the posterior of OBSERVATION (a PNG, or the .observation.pt written by `lavps degrade`)."""
    import torch

    from ..amortize.defaults import default_amortizer_path
    from ..device import prior_device
    from ..evaluation.image_metrics import psnr, ssim
    from ..imaging.io import load_image, write_image
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
    prior = _load_prior(prior_path, device, precision)
    source = OperatorSource(spec, kernel, mask, operator_file, seed if op_seed is None else op_seed)
    op = resolve_operator(source, prior.shape)
    if str(observation).endswith(".pt"):
        payload = torch.load(observation, weights_only=True)
        if not isinstance(payload, dict) or "y" not in payload:
            raise ValueError(f"{observation} is not an observation file written by `lavps degrade`")
        y = payload["y"].float()
    else:
        y = load_image(observation, op.out_shape, fit)
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
        result = posterior_samples(
            y, op, sigma, prior, sampler, samples, seed, options, progress=not quiet, noise_on_device=noise_on_device
        )
        x = result.samples.float().cpu()
        rows = [{"index": i, "seed": seed + i} for i in range(samples)]
        if reference is not None:
            ref = load_image(reference, prior.shape, fit)
            for i, (p, s) in enumerate(zip(psnr(x, ref.expand_as(x)), ssim(x, ref.expand_as(x)), strict=True)):
                rows[i].update(psnr=float(p), ssim=float(s))
        for i in range(samples):
            write_image(x[i], tmp / f"reconstruction_{i:03d}.png")
        write_image(y[0], tmp / "observation.png")
        if samples > 1:
            write_image(x.mean(0), tmp / "posterior_mean.png")
            std = x.std(0)
            write_image(std, tmp / "posterior_std.png", value_range=(0.0, max(float(std.max()), 1e-8)))
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
                "device": str(prior_device(prior)),
                "precision": precision,
                "noise_on_device": noise_on_device,
                "fit": fit,
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
