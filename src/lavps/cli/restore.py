"""`lavps degrade` and `lavps restore`: thin wrappers over `lavps.degrade` and `lavps.restore`."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import click

from ..samplers.presets import describe_presets, preset_names
from .degrade_records import (
    check_recorded_prior,
    degrade_record,
    recorded_prior,
    warn_if_clipped_preview,
    warn_if_contradicting,
    with_class,
)
from .group import cli
from .options import OPTIONS, ImageSize, LazyChoice, grouped, option
from .settings import sampler_settings

__all__ = ["degrade", "restore"]


def _restoring() -> tuple[str, ...]:
    from ..samplers.configs import restoring_samplers

    return restoring_samplers()


_NOISE_HELP = (
    "Noise model: gaussian:SIGMA or poisson:PEAK (photon counts, PEAK photons at white; docs/measurements.md)."
)


@cli.command("degrade")
@click.argument("clean", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--operator",
    "spec",
    required=True,
    help="Operator spec, e.g. motion_blur:9:0.5, sr:2, box:0.3:0.5, jpeg:10, phase:2.",
)
@option("sigma", default=None, help="Gaussian noise level sigma_y (> 0; images in [-1, 1]); or give --noise.")
@click.option("--noise", "noise", default=None, show_default="none: Gaussian, --sigma", help=_NOISE_HELP)
@option("seed", default=0, help="Draws a random operator (seed) and the noise.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Observation PNG.")
@click.option(
    "--size",
    type=ImageSize(),
    default=None,
    show_default="the prior's",
    help="Image size C,H,W of the clean image and of the operator, without loading a prior.",
)
@option(
    "prior_path",
    help="Prior whose image size is used (its size only; recorded, and restoring the observation uses it). "
    + OPTIONS["prior_path"][1]["help"],
)
@option(
    "class_label",
    help="Class index N or 'null' of a class-conditional HDiT --prior; recorded, so that "
    "restoring the observation uses the same class.",
)
@option("overwrite", help="Replace existing output files (the PNG and its .operator/.observation/.json).")
@option("fit")
@grouped("prior", dict, "prior_path", "class_label")
def degrade(clean, spec, sigma, seed, out, size, prior, overwrite, fit, noise):
    """Simulate an observation of CLEAN.png; saves the drawn operator and the exact float observation, and
    prints the `lavps restore` command that reuses them."""
    from ..outputs import OutputFolder

    stem = out.with_suffix("")
    names = [out.name, f"{stem.name}.operator.safetensors", f"{stem.name}.observation.pt", f"{stem.name}.json"]
    files = [out.parent / n for n in names]
    legacy = "|".join(map(re.escape, names))  # a record written before records listed their outputs
    where = dict(names=names, legacy=legacy, subject=f"--out {out}")
    target = OutputFolder(out.parent, names[3], overwrite, [clean], **where)  # checked before any loading
    import torch

    from .. import api
    from ..imaging.io import write_png
    from ..jsonfile import write_json
    from ..operators.files import save_operator
    from ..priors.latent import image_shape
    from ..priors.specs import prior_fingerprint
    from ..version import __version__

    model = api.noise_model(sigma, noise)  # exactly one of --sigma / --noise, checked before any loading
    prior_path = with_class(prior["prior_path"], prior["class_label"])
    loaded = None if size is not None and prior_path is None else api.load_prior(prior_path)
    shape = size if loaded is None else image_shape(loaded)
    if size is not None and tuple(size) != shape:
        raise click.BadParameter(f"--size {size} differs from the prior's image size {shape}", param_hint="--size")
    obs = api.degrade(clean, api.operator(spec, shape, seed), seed=seed, fit=fit, noise=model)
    with target as tmp:
        write_png(obs.y[0], tmp / names[0])
        save_operator(obs.operator, tmp / names[1])
        torch.save({"y": obs.y.clone()}, tmp / names[2])
        record = {"clean": str(clean), "operator": spec, "sigma": obs.sigma, "noise": model.spec, "seed": seed}
        record.update(fit=fit, prior=None if prior_path is None else str(prior_path), size=list(shape))
        # restore loads the recorded prior spec again, perhaps elsewhere: the fingerprint tells it the same prior
        record.update(prior_fingerprint=None if loaded is None else prior_fingerprint(loaded))
        record.update(lavps_version=__version__)
        record.update(observation_shape=list(obs.y.shape[1:]), operator_file=names[1], observation_file=names[2])
        # the PNG holds [-1, 1] in 8 bits: a preview. Beyond 5 sigma of Gaussian noise past +-1 it loses the
        # measurement itself (phase retrieval's |F x| reaches 4.6 on a digit), not just noise
        lost = float((obs.y.abs() > 1 + 5 * (obs.sigma or 0.0)).float().mean())
        record.update(png_clipped_share=float((obs.y.abs() > 1).float().mean()), png_lost_share=lost)
        write_json(tmp / names[3], record)
    click.echo(f"wrote {', '.join(map(str, files))}")
    if lost > 0:
        span = f"{float(obs.y.min()):.3g}..{float(obs.y.max()):.3g}"
        click.echo(f"note: y spans {span}; {names[0]} clips it to [-1, 1]: restore {names[2]} (exact)", err=True)
    noise_option = ["--sigma", f"{obs.sigma:g}"] if obs.sigma is not None else ["--noise", model.spec]
    command = ["lavps", "restore", str(files[2]), "--operator-file", str(files[1]), *noise_option]
    if prior_path is not None:
        command += ["--prior", str(prior_path)]
    command += ["--out", f"{stem}_restored"]
    click.echo("restore it with:\n  " + shlex.join(command))


@dataclass(frozen=True)
class RunChoice:
    """Which sampler runs, on which budget, how many samples from which seeds."""

    sampler: str
    preset: str | None
    amortizer: str | None
    seed: int
    samples: int
    batch_size: int | None


@dataclass(frozen=True)
class OutputChoice:
    """Where the results go and what is printed."""

    out_dir: Path
    overwrite: bool
    reference: str | None
    quiet: bool


@dataclass(frozen=True)
class Placement:
    """Where and in which precision the prior's network runs, and where the noise is drawn."""

    device: str
    precision: str
    noise_on_device: bool


def _operator_source(spec, kernel, mask, operator_file, op_seed):
    from ..workflows.image import OperatorSource

    return OperatorSource(spec, kernel, mask, operator_file, op_seed)


@cli.command("restore")
@click.argument("observation", type=click.Path())
@click.option(
    "--operator", "spec", default=None, show_default="none", help="Operator spec; a random kind also needs --op-seed."
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
    help="Operator saved by `lavps degrade` (the safe choice).",
)
@click.option(
    "--op-seed",
    default=None,
    type=OPTIONS["seed"][1]["type"],
    show_default="none",
    help="Seed that drew a random --operator (motion_blur, box, pixels): the --seed given to degrade.",
)
@option(
    "sigma",
    default=None,
    show_default="required; for a .observation.pt, the one in the record `lavps degrade` wrote beside it",
    help="Noise level sigma_y (> 0; images in [-1, 1]).",
)
@click.option(
    "--noise", "noise", default=None, show_default="none: Gaussian, --sigma", help=_NOISE_HELP + " Instead of --sigma."
)
@click.option("--sampler", type=LazyChoice(_restoring), default="lavps", show_default=True, help="Posterior sampler.")
@click.option(
    "--preset",
    type=click.Choice(preset_names()),
    default=None,
    show_default="per sampler, see the list",
    help=f"Budget preset. {describe_presets()} The settings below override it.",
)
@option("prior_path")
@option("class_label")
@option("amortizer", show_default="the shipped amortizer", help="Trained amortizer (.safetensors) for lavps.")
@option("seed", default=0, help="Sample i uses seed + i.")
@click.option("--samples", default=1, show_default=True, type=click.IntRange(1), help="Number of samples.")
@option(
    "batch_size",
    default=None,
    show_default="all samples at once; folder: 4 images",
    help="At most this many samples at once (folder: images per batch).",
)
@click.option(
    "--reference",
    default=None,
    show_default="none",
    type=click.Path(exists=True),
    help="Clean image (folder: a folder of them, matched by name): adds PSNR/SSIM.",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (it appears only when complete; a folder restore writes it as it goes and resumes in it).",
)
@option("overwrite", help="Replace a non-empty output folder (one image only; a folder restore resumes instead).")
@click.option(
    "--simulate",
    default=None,
    show_default="none: the inputs are observations",
    help="Folder: the inputs are CLEAN images; each is degraded with this operator spec and its own seed first.",
)
@option("quiet")
@option("fit")
@option("device")
@option("precision")
@option("noise_on_device")
@grouped("source", _operator_source, "spec", "kernel", "mask", "operator_file", "op_seed")
@grouped("run", RunChoice, "sampler", "preset", "amortizer", "seed", "samples", "batch_size")
@grouped("output", OutputChoice, "out_dir", "overwrite", "reference", "quiet")
@grouped("placement", Placement, "device", "precision", "noise_on_device")
@sampler_settings(_restoring, old_spellings=True)
def restore(
    observation, sigma, noise, prior_path, class_label, simulate, fit, source, run, output, placement, settings
):
    """Sample the posterior of OBSERVATION (a PNG, or the .observation.pt written by `lavps degrade`).

    OBSERVATION may also be a folder (searched recursively) or a glob: every image is restored into
    OUT/<name>/ with OUT/metrics.csv, resumably; under torchrun the images are sharded (docs/scale.md).
    Sampler settings (--steps, --window, ...) override the preset; each sampler refuses the settings it
    does not have and values outside their range (docs/cli.md)."""
    from dataclasses import replace

    from .. import api
    from ..data.folder import is_glob
    from ..imaging.io import load_image
    from ..priors.latent import image_shape
    from ..workflows.image import resolve_operator

    folder = Path(observation).is_dir() or is_glob(observation)  # an existing file is never a pattern
    if not folder:
        if not Path(observation).is_file():  # before the options it would have answered (--sigma from its record)
            raise click.BadParameter(f"File {str(observation)!r} does not exist.", param_hint="'OBSERVATION'")
        warn_if_clipped_preview(observation)
    no_operator = all(v is None for v in (source.spec, source.kernel, source.mask, source.operator_file))
    given_noise, given_prior = sigma is not None or noise is not None, prior_path is not None
    saved = degrade_record(observation, needed=no_operator or not given_noise) if not folder else None
    if saved is not None:  # the user's options win over the record; a contradiction is said, not hidden
        one_noise = (sigma is None) != (noise is None)
        warn_if_contradicting(source, api.noise_model(sigma, noise).spec if one_noise else None, saved, observation)
    if saved is not None:  # what the user left out, from `lavps degrade`'s record
        noise = saved["noise"] if not given_noise else noise
        source = replace(source, operator_file=saved["operator_file"]) if no_operator else source
        prior_path = saved["prior"] if prior_path is None else prior_path  # the prior degrade sized it for
    if sigma is None and noise is None:
        raise click.UsageError("Missing option '--sigma' (the noise level sigma_y of the observation) or '--noise'.")
    if sigma is not None and noise is not None:
        raise click.UsageError("give either --sigma or --noise, not both")
    if noise is not None and api.noise_model(None, noise).spec.startswith("gaussian:"):
        sigma, noise = api.noise_model(None, noise).sigma, None  # Gaussian noise is recorded as sigma, as always
    if folder and noise is not None:
        raise ValueError(f"folder restores take Gaussian noise (--sigma) only, got --noise {noise}")
    if folder and fit is not None:  # accepted and ignored would mislead: say what a folder restore does
        raise ValueError(
            f"--fit {fit} is for one image; a folder restore fits --simulate's clean images to the prior "
            "(centre crop, resize) and needs observations of the operator's output size"
        )
    if folder and placement.noise_on_device:  # accepted and ignored would mislead
        raise ValueError(
            "--noise-on-device is for one image; a folder restore draws each image's noise on the CPU from its "
            "own seed (so that no result depends on the device): drop it"
        )
    given = settings.for_run(run.sampler)
    if not folder:
        if simulate is not None:
            raise ValueError("--simulate restores a folder of clean images; give a folder or a glob")
        inputs = [p for p in (observation, source.operator_file, source.kernel, source.mask) if p is not None]
        api.restore_output(output.out_dir, output.overwrite, inputs)  # refuse an occupied folder before any work
    if class_label is not None and not given_prior and prior_path is not None:  # the record's spec names a class:
        prior_path = str(prior_path).rpartition(":class=")[0] or prior_path  # --class-label replaces it (checked)
    prior_path = with_class(prior_path, class_label)  # recorded with the spec
    if saved is not None:
        prior_path = recorded_prior(prior_path, saved["prior"], observation)
    # placed once, where it is loaded (an unavailable device is named before the prior is loaded)
    try:
        prior = api.load_prior(prior_path, device=placement.device, precision=placement.precision)
    except (FileNotFoundError, ValueError) as e:
        if saved is None or given_prior or not saved["prior"]:
            raise
        raise ValueError(  # the user never typed this path: say where it came from
            f"{e} (the prior {saved['prior']!r} is named by {observation}'s degrade record; a relative path is read "
            "from the current folder): give --prior with the file degrade used"
        ) from None
    if saved is not None:
        check_recorded_prior(prior, saved, given_prior, observation)
    if folder:
        from .restore_folder import restore_folder_command

        restore_folder_command(observation, source, simulate, sigma, prior, prior_path, run, given, output)
        return
    op = resolve_operator(source, image_shape(prior))
    ref = None if output.reference is None else load_image(output.reference, image_shape(prior), fit)
    result = api.restore(
        observation,
        op,
        sigma,
        prior=prior,
        sampler=run.sampler,
        samples=run.samples,
        seed=run.seed,
        preset=run.preset,
        settings=given,
        amortizer=run.amortizer,
        noise=noise,
        run=api.RunOptions(
            batch_size=run.batch_size, noise_on_device=placement.noise_on_device, progress=not output.quiet, fit=fit
        ),
    )
    record = {
        "observation": str(observation),
        "operator": source.describe(image_shape(prior)),
        "sigma": sigma,
        "noise": api.noise_model(sigma, noise).spec,
        "prior": str(prior_path or "shipped"),
        "fit": fit,
        "reference": None if output.reference is None else str(output.reference),
    }
    result.save(output.out_dir, record, ref, output.overwrite, inputs=inputs, option="--out", flag="--overwrite")
    auto = result.settings.get("auto")
    if auto is not None:  # say what the default preset chose, and why
        why = ("" if auto["trained_family"] else "not ") + "a training family of the amortizer"
        inside = auto.get("inside_trained_family")
        why = f"inside the amortizer's training family {inside}" if inside else why
        why += "" if auto.get("linear", True) else " and non-linear"
        why += " with several exact modes of its likelihood" if auto.get("multimodal") else ""
        click.echo(f"preset auto ran {auto['ran']}: operator family {auto['operator_family'] or 'unknown'} is {why}")
    click.echo(
        f"wrote {run.samples} reconstruction(s) to {output.out_dir} in {result.cost.seconds:.1f} s "
        f"({result.cost.denoiser_forwards} denoiser forwards, {result.cost.denoiser_backwards} backwards)"
    )
    if ref is not None:  # the scores restore.json holds, per sample
        scores = result.scores(ref)
        click.echo(
            "against --reference: "
            + ", ".join(f"sample {i}: PSNR {s['psnr']:.2f} dB, SSIM {s['ssim']:.3f}" for i, s in enumerate(scores))
        )
