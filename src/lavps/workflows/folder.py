"""Restore every image of a folder, batched, resumable, sharded over torchrun ranks.

Inputs: observation PNG/JPEGs of the operator's output size (one operator for the whole folder), or
(simulate=True) clean images fitted to the prior's image shape and degraded first. A latent prior
(`ldm:DIR`) samples its latent z against A(decode(z)) (`LatentMeasurement`, as `lavps.api.restore`
does); images, operators, observations and outputs are those of its decoded images. Image `name` (its path
relative to the folder, without suffix) gets the seed

    s(name) = name_seed(run seed, name)          (sha256 of the name mixed with the run seed)

which draws its simulated operator (from `family`, as `lavps degrade --seed s(name)` would) and noise,
and seeds its sampler (`PerSampleNoise`): an image's result never depends on the rank that restores
it, its batch-mates or the batch size.
Outputs in OUT: `<name>/` with reconstruction.png, observation.png, reference.png (if any),
operator.safetensors (simulated operators) and restore.json; `metrics.csv` (one row per image,
sorted by name, plus one `skipped` row per file that is not an image); `run.json` (the resolved
settings). PSNR/SSIM are those of the saved 8-bit PNG.
Every `<name>/` is written to a hidden temp folder and renamed when complete, so a re-run skips
finished images and never sees half of one.
Rank r of W restores images r, r + W, ... of the sorted list; rank 0 writes metrics.csv at the end.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..data.folder import ImageList, list_images, source_root
from ..distributed import World, barrier, current_world
from ..imaging.fit import image_size, read_fitted
from ..imaging.io import from_unit, read_image, to_unit, write_png
from ..jsonfile import write_json
from ..metrics import psnr, ssim
from ..operators import GaussianNoise, InverseProblem, LinearOperator, OperatorFamily, save_operator
from ..operators.stack import StackedOperator
from ..priors.latent import LatentMeasurement, LatentPrior, image_shape
from ..random import name_seed
from ..samplers.estimate import announce_if_long
from ..samplers.registry import build_sampler
from ..version import __version__
from .image import simulate
from .settings import check_latent_sampler, resolve_settings

__all__ = ["FolderJob", "FolderReport", "restore_folder", "METRIC_COLUMNS"]

METRIC_COLUMNS = [
    "name",
    "file",
    "status",
    "seed",
    "psnr",
    "ssim",
    "seconds",
    "denoiser_forwards",
    "denoiser_backwards",
    "amortizer_forwards",
]


@dataclass(frozen=True)
class FolderJob:
    """What to restore and how.

    Attributes:
        source: folder (recursive) or glob of observations, or of clean images with simulate=True.
        operator: the operator of every observation (with simulate and a family: used for checks only).
        family: with simulate, the operator family each image draws its own operator from (seed s(name)).
        sigma: the noise level sigma_y.
        sampler, preset, settings, amortizer: sampler name, budget preset, settings over it (a dict of
            the sampler's config fields, or a complete config) and for lavps the amortizer (None: the
            shipped one), resolved as by `lavps.api.restore`.
        seed: run seed (see the module docstring); batch_size: images per sampler call.
        simulate: inputs are clean images: fit, then y = A x + sigma n with the image's seed.
        references: folder of clean images matched by name (PSNR/SSIM); with simulate the inputs are.
        record: where inputs come from (operator, prior), stored in run.json with the resolved settings;
            a re-run into the same OUT must agree with run.json.
    """

    source: str
    operator: LinearOperator
    sigma: float
    sampler: str = "lavps"
    preset: str | None = None
    settings: object = field(default_factory=dict)
    amortizer: object = None
    seed: int = 0
    batch_size: int = 4
    simulate: bool = False
    references: str | None = None
    family: OperatorFamily | None = None
    record: dict = field(default_factory=dict)


@dataclass(frozen=True)
class FolderReport:
    """Counts of this call (restored here, already finished before, skipped files) and the CSV path."""

    restored: int
    finished_before: int
    skipped: int
    seconds: float
    metrics_path: Path


def restore_folder(job: FolderJob, prior, out_dir: str | Path, progress: bool = True) -> FolderReport:
    """Restore every image of job.source into out_dir (see the module docstring).

    Raises:
        ValueError: empty folder, unreadable image, an image of the wrong size (observations) or
            smaller than the prior's images (simulate), two files with the same name, an out_dir made
            with other settings, or ddrm/diffpir on a latent prior.
    """
    start = time.perf_counter()
    if job.batch_size < 1:
        raise ValueError(f"batch size must be >= 1, got {job.batch_size}")
    GaussianNoise(job.sigma)
    check_latent_sampler(job.sampler, prior)
    world = current_world()
    out = Path(out_dir)
    _refuse_foreign(out, job.source, world)  # before reading any input
    images = list_images(job.source, warn=world.is_main)
    names = _names(images)
    _check_inputs(job, images, prior)
    refs = _references(job, images, names, image_shape(prior))
    family = job.family.spec if job.family is not None else getattr(job.operator, "family", None)
    resolved = resolve_settings(job.sampler, job.preset, job.settings, prior, family, job.amortizer)
    run = {
        "source": job.source,
        "simulate": job.simulate,
        "sigma": job.sigma,
        "seed": job.seed,
        "references": job.references,
        **job.record,
        **resolved.record,
    }
    new = _claim(out, run, world)
    mine = [i for i in range(len(images.files)) if i % world.size == world.rank]
    finished = [i for i in mine if (out / names[i] / "restore.json").is_file()]
    todo = [i for i in mine if i not in finished]
    try:
        sampler = build_sampler(job.sampler, prior, resolved.config, **resolved.networks)
        if progress and world.is_main and todo:  # a long folder run says what it will cost first
            first = _problem(job, prior, images, names, todo[:1])[0]
            announce_if_long(sampler, first, len(todo), job.batch_size, what="image(s)")
        bar = tqdm(total=len(todo), disable=not (progress and world.is_main), desc="restore", unit="img")
        for b in range(0, len(todo), job.batch_size):
            batch = todo[b : b + job.batch_size]
            _restore_batch(job, prior, sampler, images, names, refs, batch, out)
            bar.update(len(batch))
        bar.close()
    except BaseException:
        if new and world.size == 1 and not any(out.glob("**/restore.json")):  # nothing done: leave nothing
            (out / "run.json").unlink(missing_ok=True)
            if new == "created":
                shutil.rmtree(out, ignore_errors=True)
        raise
    barrier(world)
    metrics = out / "metrics.csv"
    if world.is_main:
        _write_metrics(metrics, images, names, out)
    barrier(world)
    done_before = len(finished)
    return FolderReport(len(todo), done_before, len(images.skipped), time.perf_counter() - start, metrics)


def _names(images: ImageList) -> list[str]:
    """Each image's output folder name (its relative path without suffix); two images may not share one, and
    no image's folder may hold another's (`sub.png` -> `sub/`, `sub/b.png` -> `sub/b/`): a re-run would
    take the first for unfinished and replace it, results of the second included."""
    names, seen = [], {}
    for p in images.files:
        name = images.name(p).rsplit(".", 1)[0]
        if name in seen:
            raise ValueError(f"{seen[name]} and {p} have the same name {name!r}; rename one")
        seen[name] = p
        names.append(name)
    for name, p in seen.items():
        parts = name.split("/")
        for k in range(1, len(parts)):
            parent = "/".join(parts[:k])
            if parent in seen:
                raise ValueError(
                    f"{seen[parent]} restores into {parent}/, the folder that holds the results of {p}; rename one"
                )
    return names


def _check_inputs(job: FolderJob, images: ImageList, prior) -> None:
    """Checks of every file before any work: readable, of a usable size, an observation of the operator's channels."""
    _, h, w = image_shape(prior)
    oh, ow = job.operator.out_shape[1:]
    for p in images.files:
        width, height = image_size(p)
        if job.simulate and (width < w or height < h):
            raise ValueError(f"image {p} is {width}x{height} pixels, smaller than the prior's {w}x{h}")
        if not job.simulate and (width, height) != (ow, oh):
            raise ValueError(f"observation {p} is {width}x{height} pixels; the operator observes {ow}x{oh}")
    if not job.simulate:  # an observation is data: its channels are never converted (as one image's are not)
        for p in images.files:
            _read_exact(p, tuple(job.operator.out_shape), "observation", "the operator observes")


def _references(job: FolderJob, images: ImageList, names: list[str], prior_shape) -> list[Path | None]:
    """Each observation's clean image (simulate: the input itself), matched by name; a reference must have the
    prior's image shape exactly (`lavps restore IMAGE --reference` without --fit): nothing is cropped to fit."""
    if job.simulate:
        return list(images.files)
    if job.references is None:
        return [None] * len(names)
    root = Path(job.references)
    if not root.is_dir():
        raise FileNotFoundError(f"reference folder {root} does not exist")
    found = []
    for name in names:
        matches = [root / f"{name}{s}" for s in (".png", ".jpg", ".jpeg", ".PNG", ".JPG", ".JPEG")]
        hit = next((m for m in matches if m.is_file()), None)
        if hit is None:
            raise ValueError(f"no reference image {root / name}.png (or .jpg) for observation {name!r}")
        _read_exact(hit, prior_shape, "reference image", "the prior's images are")  # checked before any work
        found.append(hit)
    return found


def _read_exact(path, shape, what: str, by: str = "expected") -> torch.Tensor:
    """(1, C, H, W) of an image that must be of `shape` as stored: a folder run converts no observation or
    reference (no --fit there), so a grey/RGB or size mismatch is an error naming the file."""
    x = read_image(path)
    if tuple(x.shape[1:]) != tuple(shape):
        have, want = "x".join(map(str, x.shape[1:])), "x".join(map(str, shape))
        raise ValueError(f"{what} {path} is {have} (C x H x W); {by} {want}")
    return x


def _refuse_foreign(out: Path, source: str, world: World) -> None:
    """A new run needs a new or empty folder outside the inputs: the user's files are never mixed in or
    replaced (an image `a.png` restores into `a/`, which may be the user's folder), and outputs inside the
    input folder would be read back as inputs by a re-run."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} is a file, not a folder")
    root = source_root(source)  # a glob's root too: `data/**/*.png` would read `data/out/` back
    if root.is_dir() and out.resolve().is_relative_to(root.resolve()):
        raise ValueError(f"--out {out} is inside the input folder {root}; choose a folder outside it")
    if world.is_main and out.is_dir() and not (out / "run.json").is_file():
        foreign = sorted(p.name for p in out.iterdir() if not p.name.startswith(".tmp-"))
        if foreign:
            raise FileExistsError(
                f"--out {out} holds files lavps did not write ({', '.join(foreign[:3])}); choose a new or empty folder"
            )


def _claim(out: Path, settings: dict, world: World) -> str | None:
    """run.json records the settings; a re-run must use the same ones (else its images would mix).

    Returns "created" (a new folder), "claimed" (run.json written into an empty folder) or None (resumed).
    """
    run = out / "run.json"
    new = None if run.is_file() else ("claimed" if out.is_dir() else "created")
    if world.is_main:
        settings = json.loads(json.dumps(settings, default=str))
        if run.is_file():
            try:
                before = json.loads(run.read_text())["settings"]
            except (ValueError, KeyError, TypeError) as e:  # not lavps's record: never resumed into, never replaced
                raise ValueError(
                    f"{run} is not a folder run's record ({type(e).__name__}: {e}); use another --out"
                ) from None
            if before != settings:
                diff = sorted(k for k in set(before or {}) | set(settings) if (before or {}).get(k) != settings.get(k))
                raise ValueError(f"{out} holds a run with other settings ({', '.join(diff)}); use another --out")
        else:
            write_json(run, {"settings": settings, "lavps_version": __version__}, sort_keys=True)
    barrier(world)
    return new


def _problem(job, prior, images, names, batch: list[int]):
    """(the inverse problem of the images `batch`, their operators, their seeds); a latent prior's problem is
    posed on z, through the decoder (its y stays the images' observation)."""
    shape = image_shape(prior)
    seeds = [name_seed(job.seed, names[i]) for i in batch]
    ops = [job.operator] * len(batch)
    if job.simulate:
        if job.family is not None:
            ops = [job.family.sample_one(torch.Generator().manual_seed(s)) for s in seeds]
        clean = [read_fitted(images.files[i], shape)[None] for i in batch]
        y = torch.cat([simulate(x, op, job.sigma, s) for x, op, s in zip(clean, ops, seeds, strict=True)])
    else:
        y = torch.cat([_read_exact(images.files[i], tuple(job.operator.out_shape), "observation") for i in batch])
    operator = job.operator if job.family is None else StackedOperator(ops)
    if isinstance(prior, LatentPrior):
        operator = LatentMeasurement(operator, prior)
    return InverseProblem(y, operator, GaussianNoise(job.sigma)), ops, seeds


def _restore_batch(job, prior, sampler, images, names, refs, batch: list[int], out: Path) -> None:
    shape = image_shape(prior)
    problem, ops, seeds = _problem(job, prior, images, names, batch)
    y = problem.y
    result = sampler.sample(problem, len(batch), seed=seeds)
    x = result.samples
    if isinstance(prior, LatentPrior):  # the user sees images: the latent samples' decodes
        with torch.no_grad():
            x = prior.decode(x)
    x = _as_saved(x)  # metrics of the PNG actually written: identical whatever the batch
    cost = result.cost
    for j, i in enumerate(batch):
        row = {
            "name": names[i],
            "file": str(images.files[i]),
            "status": "ok",
            "seed": seeds[j],
            "seconds": cost.seconds / len(batch),  # its share of the batch it was restored in
            "batch": len(batch),
            "sigma": job.sigma,
            "run": os.path.relpath(out / "run.json", out / names[i]),  # the sampler, operator and prior settings
            "denoiser_forwards": cost.denoiser_forwards,
            "denoiser_backwards": cost.denoiser_backwards,
            "amortizer_forwards": cost.amortizer_forwards,
        }
        tmp = out / f".tmp-{names[i].replace('/', '__')}-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        write_png(x[j], tmp / "reconstruction.png")
        write_png(y[j], tmp / "observation.png")
        if job.family is not None:
            save_operator(ops[j], tmp / "operator.safetensors")
        if refs[i] is not None:
            ref = read_fitted(refs[i], shape)[None] if job.simulate else _read_exact(refs[i], shape, "reference image")
            row.update(psnr=float(psnr(x[j : j + 1], ref)[0]), ssim=float(ssim(x[j : j + 1], ref)[0]))
            write_png(ref[0], tmp / "reference.png")
        write_json(tmp / "restore.json", row)
        dest = out / names[i]
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():  # a folder left without restore.json: not finished, replace it
            if any(dest.glob("**/restore.json")):  # _names rules this out; never delete finished results
                raise RuntimeError(f"{dest} holds finished results of other images; not replacing it")
            shutil.rmtree(dest)
        os.replace(tmp, dest)


def _as_saved(x: torch.Tensor) -> torch.Tensor:
    """x as write_png stores it: 8-bit levels, back in [-1, 1]."""
    return from_unit((to_unit(x.detach().float()) * 255).round() / 255)


def _write_metrics(path: Path, images: ImageList, names: list[str], out: Path) -> None:
    rows = []
    for name in names:
        record = out / name / "restore.json"
        if record.is_file():
            rows.append(json.loads(record.read_text()))
    rows += [{"name": images.name(p), "file": str(p), "status": f"skipped: {why}"} for p, why in images.skipped]
    tmp = path.with_name(".metrics.csv.tmp")
    with tmp.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=METRIC_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in sorted(rows, key=lambda r: r["name"]):
            writer.writerow({k: _fmt(row.get(k)) for k in METRIC_COLUMNS})
    os.replace(tmp, path)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.6g}"
    return "" if v is None else v
