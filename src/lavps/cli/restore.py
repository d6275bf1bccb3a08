"""`lavps degrade` and `lavps restore`: thin wrappers over `lavps.degrade` and `lavps.restore`."""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from ..samplers.presets import describe_presets, preset_names
from .main import cli

__all__ = ["degrade", "restore"]

_SAMPLERS = ["lavps", "mgdm", "dps", "ddrm", "diffpir"]

_PRIOR_HELP = (
    "Prior spec: mnist (default, shipped), diffusers:DIR, adm:FILE[:ffhq|:imagenet|:FLAGS.json], "
    "edm:MODULE:FACTORY (runs that module's code), or a prior .safetensors file. See docs/priors.md."
)


@cli.command("degrade")
@click.argument("clean", type=click.Path(dir_okay=False))
@click.option("--operator", "spec", required=True, help="Operator spec, e.g. motion_blur:9:0.5, sr:2, box:0.3:0.5.")
@click.option("--sigma", required=True, type=float, help="Noise level sigma_y (images in [-1, 1]).")
@click.option("--seed", default=0, show_default=True, type=int, help="Draws a random operator (seed) and the noise.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Observation PNG.")
@click.option("--prior", "prior_path", default=None, help=_PRIOR_HELP)
@click.option("--overwrite", is_flag=True, help="Replace existing output files.")
def degrade(clean, spec, sigma, seed, out, prior_path, overwrite):
    """Simulate an observation of CLEAN.png; saves the drawn operator and the exact float observation, and
    prints the `lavps restore` command that reuses them."""
    import torch

    from .. import api
    from ..imaging.io import write_png
    from ..imaging.workflow import write_json
    from ..operators.spec import save_operator

    prior = api.load_prior(prior_path)
    stem = out.with_suffix("")
    files = [out, Path(f"{stem}.operator.safetensors"), Path(f"{stem}.observation.pt"), Path(f"{stem}.json")]
    existing = [str(f) for f in files if f.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{', '.join(existing)} exist(s); use --overwrite to replace")
    obs = api.degrade(clean, api.operator(spec, tuple(prior.shape), seed), sigma, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_png(obs.y[0], out)
    save_operator(obs.operator, files[1])
    torch.save({"y": obs.y.clone()}, files[2])
    write_json(
        files[3],
        {
            "clean": str(clean),
            "operator": spec,
            "sigma": sigma,
            "seed": seed,
            "observation_shape": list(obs.y.shape[1:]),
            "operator_file": files[1].name,
            "observation_file": files[2].name,
        },
    )
    click.echo(f"wrote {', '.join(map(str, files))}")
    command = ["lavps", "restore", str(files[2]), "--operator-file", str(files[1]), "--sigma", f"{sigma:g}"]
    if prior_path is not None:
        command += ["--prior", str(prior_path)]
    command += ["--out", f"{stem}_restored"]
    click.echo("restore it with:\n  " + shlex.join(command))


@cli.command("restore")
@click.argument("observation", type=click.Path())
@click.option("--operator", "spec", default=None, help="Operator spec; a random kind also needs --op-seed.")
@click.option("--kernel", default=None, help="Blur kernel file (.npy, .png, .txt).")
@click.option("--mask", default=None, help="Mask file (.png, .npy; nonzero = observed).")
@click.option("--operator-file", default=None, help="Operator saved by `lavps degrade` (the safe choice).")
@click.option(
    "--op-seed",
    default=None,
    type=int,
    help="Seed that drew a random --operator (motion_blur, box, pixels): the --seed given to degrade.",
)
@click.option("--sigma", required=True, type=float, help="Noise level sigma_y.")
@click.option("--sampler", type=click.Choice(_SAMPLERS), default="lavps", show_default=True, help="Posterior sampler.")
@click.option(
    "--preset",
    type=click.Choice(preset_names()),
    default=None,
    help=f"Budget preset. {describe_presets()}",
)
@click.option("--prior", "prior_path", default=None, help=_PRIOR_HELP)
@click.option("--amortizer", default=None, help="Amortizer checkpoint for lavps (default: the shipped one).")
@click.option("--seed", default=0, show_default=True, type=int, help="Sample i uses seed + i.")
@click.option("--samples", default=1, show_default=True, type=click.IntRange(1), help="Number of samples.")
@click.option(
    "--batch-size",
    default=None,
    type=click.IntRange(1),
    help="At most this many samples at once (folder: images per batch, default 4).",
)
@click.option(
    "--steps", default=None, type=click.IntRange(3), help="Grid size N of the sampler (overrides the preset)."
)
@click.option("--window", default=None, type=click.IntRange(0), help="Final window length (mgdm, lavps).")
@click.option("--adam-out", default=None, type=click.IntRange(0), help="Adam steps outside the window (mgdm, lavps).")
@click.option("--adam-in", default=None, type=click.IntRange(0), help="Adam steps inside the window (mgdm).")
@click.option("--inner-steps", default=None, type=click.IntRange(0), help="Adam steps after the guard (lavps).")
@click.option("--dps-steps", default=None, type=click.IntRange(3), hidden=True)
@click.option("--ddrm-steps", default=None, type=click.IntRange(2), hidden=True)
@click.option("--ddrm-eta", default=None, type=click.FloatRange(0, 1), help="DDRM eta (default 0.85).")
@click.option("--diffpir-steps", default=None, type=click.IntRange(2), hidden=True)
@click.option(
    "--diffpir-lambda", default=None, type=click.FloatRange(0, min_open=True), help="DiffPIR lambda (default 1.75)."
)
@click.option("--diffpir-zeta", default=None, type=click.FloatRange(0, 1), help="DiffPIR zeta (default 0.3).")
@click.option(
    "--reference", default=None, type=click.Path(), help="Clean image (folder: folder of them): adds PSNR/SSIM."
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (it appears only when complete).",
)
@click.option("--overwrite", is_flag=True, help="Replace a non-empty output folder.")
@click.option(
    "--simulate",
    default=None,
    help="Folder: the inputs are CLEAN images; each is degraded with this operator spec and its own seed first.",
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
    preset,
    prior_path,
    amortizer,
    seed,
    samples,
    batch_size,
    steps,
    window,
    adam_out,
    adam_in,
    inner_steps,
    dps_steps,
    ddrm_steps,
    ddrm_eta,
    diffpir_steps,
    diffpir_lambda,
    diffpir_zeta,
    reference,
    out_dir,
    overwrite,
    simulate,
    quiet,
):
    """Sample the posterior of OBSERVATION (a PNG, or the .observation.pt written by `lavps degrade`).

    OBSERVATION may also be a folder (searched recursively) or a glob: every image is restored into
    OUT/<name>/ with OUT/metrics.csv, resumably; under torchrun the images are sharded over the
    processes (docs/scale.md).
    """
    from .. import api
    from ..imaging.workflow import OperatorSource, atomic_dir, resolve_operator
    from ..operators import GaussianNoise

    folder = Path(observation).is_dir() or any(ch in str(observation) for ch in "*?[")
    if not folder:
        if simulate is not None:
            raise ValueError("--simulate restores a folder of clean images; give a folder or a glob")
        atomic_dir(out_dir, overwrite)  # refuse an occupied folder before any work
    GaussianNoise(sigma)  # a bad sigma is named before the files are read
    prior = api.load_prior(prior_path)
    given = dict(steps=steps, window=window, adam_out=adam_out, adam_in=adam_in, inner_steps=inner_steps)
    baseline = dict(
        dps_steps=dps_steps,
        ddrm_steps=ddrm_steps,
        ddrm_eta=ddrm_eta,
        diffpir_steps=diffpir_steps,
        diffpir_lambda=diffpir_lambda,
        diffpir_zeta=diffpir_zeta,
    )
    settings = {k: v for k, v in {**given, **baseline}.items() if v is not None}
    if amortizer is not None:
        settings["amortizer"] = amortizer
    if folder:
        from .restore_folder import restore_folder_command

        options = dict(sampler=sampler, preset=preset, settings=settings, seed=seed, batch_size=batch_size or 4)
        restore_folder_command(
            observation,
            OperatorSource(spec, kernel, mask, operator_file, op_seed),
            simulate,
            sigma,
            prior,
            prior_path,
            reference,
            options,
            samples,
            overwrite,
            out_dir,
            quiet,
        )
        return
    source = OperatorSource(spec, kernel, mask, operator_file, op_seed)
    op = resolve_operator(source, tuple(prior.shape))
    result = api.restore(
        observation, op, sigma, prior, sampler, samples, seed, preset, settings, batch_size, progress=not quiet
    )
    record = {
        "observation": str(observation),
        "operator": source.describe(tuple(prior.shape)),
        "sigma": sigma,
        "prior": str(prior_path or "shipped"),
    }
    result.save(out_dir, record, reference, overwrite)
    click.echo(
        f"wrote {samples} reconstruction(s) to {out_dir} in {result.cost.seconds:.1f} s "
        f"({result.cost.denoiser_forwards} denoiser forwards, {result.cost.denoiser_backwards} backwards)"
    )
