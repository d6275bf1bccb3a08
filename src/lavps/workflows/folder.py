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
operator.safetensors (simulated operators) and restore.json (written last; its "outputs" list the other
files with their sha256 and bytes); `metrics.csv` (one row per image, sorted by name, plus one `skipped`
row per file that is not an image); `run.json` (the resolved settings; at the end of each call its "outputs"
list metrics.csv and every finished `<name>/restore.json` with their digests). PSNR/SSIM are those of the
saved 8-bit PNG.
Every `<name>/` is written to a hidden temp folder (`.tmp-<hash of name>-<host>-<pid>`) and renamed when
complete, so a re-run skips finished images and never sees half of one; an interrupted write removes its
temp folder, and a re-run removes those of processes that are gone (SIGKILL). run.json also pins the
absolute input folder, the prior's fingerprint, the amortizer file's sha256, the precision and the device:
a resume that differs in one is refused (a key an older run.json lacks is not compared).
Rank r of W restores images r, r + W, ... of the sorted list; rank 0 writes metrics.csv, then run.json's
outputs, at the end.
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

from ..data.folder import ImageList, list_images
from ..device import prior_device, prior_precision
from ..distributed import barrier, current_world
from ..imaging.fit import read_fitted
from ..imaging.io import from_unit, to_unit, write_png
from ..jsonfile import write_json
from ..metrics import psnr, ssim
from ..operators import GaussianNoise, InverseProblem, LinearOperator, OperatorFamily, save_operator
from ..operators.stack import StackedOperator
from ..outputs import file_sha256, output_entries, output_entry
from ..priors.latent import LatentMeasurement, LatentPrior, image_shape
from ..priors.specs import prior_fingerprint
from ..random import name_seed
from ..samplers.estimate import announce_if_long
from ..samplers.particles import Particles
from ..samplers.registry import build_sampler
from .folder_checks import (
    check_inputs,
    claim,
    names_of,
    read_exact,
    references,
    refuse_foreign,
    sweep_stale,
    temp_folder,
    warn_unlisted,
)
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
    refuse_nonlinear_simulation(job)
    world = current_world()
    out = Path(out_dir)
    images = list_images(job.source, warn=world.is_main)
    names = names_of(images)
    refuse_foreign(out, job.source, images, names, world)  # listed only: before decoding any input
    check_inputs(job, images, prior)
    refs = references(job, images, names, image_shape(prior))
    family = job.family.spec if job.family is not None else getattr(job.operator, "family", None)
    resolved = resolve_settings(job.sampler, job.preset, job.settings, prior, family, job.amortizer)
    new = claim(out, _run_record(job, prior, resolved), world)
    sweep_stale(out)  # temp folders of killed runs (never a live rank's)
    mine = [i for i in range(len(images.files)) if i % world.size == world.rank]
    finished = [i for i in mine if (out / names[i] / "restore.json").is_file()]
    if new is None and world.is_main:  # a resume: results of images no longer listed are said, not mixed in
        warn_unlisted(out, names)
    todo = [i for i in mine if i not in finished]
    try:
        sampler = build_sampler(job.sampler, prior, resolved.config, **resolved.networks)
        if progress and world.is_main and todo:  # a long folder run says what it will cost first
            first = _problem(job, prior, images, names, todo[:1], _particles(sampler))[0]
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
        _list_outputs(out, names)
    barrier(world)
    done_before = len(finished)
    return FolderReport(len(todo), done_before, len(images.skipped), time.perf_counter() - start, metrics)


def refuse_nonlinear_simulation(job: FolderJob) -> None:
    """A folder simulates linear operators only (stacked per image, saved as operator.safetensors): refused
    before any work, saying the way that works."""
    if job.simulate and job.family is not None and not job.operator.is_linear:
        spec = job.family.spec
        raise ValueError(
            f"--simulate {spec} draws a non-linear operator ({type(job.operator).__name__}), which a folder restore "
            f"cannot simulate: degrade each image with `lavps degrade --operator {spec}`, then restore the folder "
            f"of observations with --operator {spec}"
        )


def _run_record(job: FolderJob, prior, resolved) -> dict:
    """run.json's settings: what a resume must agree with, down to the prior's weights, the amortizer file,
    the precision and device, and the input folder wherever it is named from."""
    amortizer = resolved.record.get("amortizer")
    amortizer_file = Path(amortizer) if isinstance(amortizer, str) and Path(amortizer).is_file() else None
    run = {"source": job.source, "simulate": job.simulate, "sigma": job.sigma, "seed": job.seed}
    run.update(references=job.references, **job.record, **resolved.record)
    run.update(source_path=str(Path(job.source).resolve()), prior_fingerprint=prior_fingerprint(prior))
    run.update(precision=prior_precision(prior), device=str(prior_device(prior)))
    run.update(amortizer_sha256=None if amortizer_file is None else file_sha256(amortizer_file))
    return run


def _particles(sampler) -> int:
    return sampler.count if isinstance(sampler, Particles) else 1


def _problem(job, prior, images, names, batch: list[int], particles: int = 1):
    """(the inverse problem of the images `batch`, their operators, their seeds, their observations); a latent
    prior's problem is posed on z, through the decoder (its y stays the images' observation). With K particles
    per image, each image's K rows of the problem use its own operator."""
    shape = image_shape(prior)
    seeds = [name_seed(job.seed, names[i]) for i in batch]
    ops = [job.operator] * len(batch)
    if job.simulate:
        if job.family is not None:
            ops = [job.family.sample_one(torch.Generator().manual_seed(s)) for s in seeds]
        clean = [read_fitted(images.files[i], shape)[None] for i in batch]
        y = torch.cat([simulate(x, op, job.sigma, s) for x, op, s in zip(clean, ops, seeds, strict=True)])
    else:
        y = torch.cat([read_exact(images.files[i], tuple(job.operator.out_shape), "observation") for i in batch])
    operator, y_rows = job.operator, y
    if job.family is not None:  # the particle sampler keeps a y of K rows per image as it is
        operator = StackedOperator([op for op in ops for _ in range(particles)])
        y_rows = y.repeat_interleave(particles, 0)
    if isinstance(prior, LatentPrior):
        operator = LatentMeasurement(operator, prior)
    return InverseProblem(y_rows, operator, GaussianNoise(job.sigma)), ops, seeds, y


def _restore_batch(job, prior, sampler, images, names, refs, batch: list[int], out: Path) -> None:
    shape = image_shape(prior)
    problem, ops, seeds, y = _problem(job, prior, images, names, batch, _particles(sampler))
    result = sampler.sample(problem, len(batch), seed=seeds)
    x = result.samples
    if isinstance(prior, LatentPrior):  # the user sees images: the latent samples' decodes
        with torch.no_grad():
            x = prior.decode(x)
    x = _as_saved(x.cpu())  # metrics of the PNG actually written (on the CPU, as the references): any batch
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
        tmp = temp_folder(out, names[i])
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            _write_image(job, tmp, row, x[j], y[j], ops[j], refs[i], shape)
            _publish(tmp, out / names[i])
        finally:  # Ctrl-C, SIGTERM (raised as SystemExit by the CLI) or a write error: no half-written folder
            shutil.rmtree(tmp, ignore_errors=True)


def _publish(tmp: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists():  # a folder left without restore.json: not finished, replace it
        if any(dest.glob("**/restore.json")):  # names_of rules this out; never delete finished results
            raise RuntimeError(f"{dest} holds finished results of other images; not replacing it")
        shutil.rmtree(dest)
    os.replace(tmp, dest)


def _write_image(job, tmp: Path, row: dict, x, y, op, ref_path, shape) -> None:
    """One image's outputs into its temp folder; restore.json last (it marks the image finished)."""
    write_png(x, tmp / "reconstruction.png")
    write_png(y, tmp / "observation.png")
    if job.family is not None:
        save_operator(op, tmp / "operator.safetensors")
    if ref_path is not None:
        ref = read_fitted(ref_path, shape)[None] if job.simulate else read_exact(ref_path, shape, "reference image")
        row.update(psnr=float(psnr(x[None], ref)[0]), ssim=float(ssim(x[None], ref)[0]))
        write_png(ref[0], tmp / "reference.png")
    row["outputs"] = output_entries(tmp, "restore.json")  # each file written above, with its sha256 and bytes
    write_json(tmp / "restore.json", row)


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


def _list_outputs(out: Path, names: list[str]) -> None:
    """run.json lists metrics.csv and every finished image's restore.json with their sha256 and bytes (each
    restore.json lists its image's files): the whole folder can be checked from run.json down. Rewritten
    (atomically) after metrics.csv at the end of every call; its settings stay as they were."""
    run = out / "run.json"
    record = json.loads(run.read_text())
    files = ["metrics.csv"] + [f"{name}/restore.json" for name in names if (out / name / "restore.json").is_file()]
    record["outputs"] = [output_entry(out, name) for name in files]
    write_json(run, record, sort_keys=True)


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.6g}"
    return "" if v is None else v
