"""`lavps bench prior`: held-out denoising loss and sample realism of an image prior (MNIST-shaped)."""

from __future__ import annotations

from pathlib import Path

import click

from .bench import bench
from .options import option

__all__ = ["bench_prior"]


@bench.command("prior")
@click.option("--prior", "prior_path", default=None, show_default="the shipped MNIST prior", help="Prior checkpoint.")
@click.option("--times", default="100,300,600", show_default=True, help="Comma-separated time indices t.")
@click.option("--samples", default=256, show_default=True, type=click.IntRange(1), help="Unconditional samples.")
@click.option("--steps", default=100, show_default=True, type=click.IntRange(2), help="DDIM grid size of the samples.")
@option("seed", default=0, help="Seed of the noise and of the samples.")
@click.option(
    "--json",
    "json_path",
    default=None,
    show_default="no file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the numbers as JSON.",
)
def bench_prior(prior_path, times, samples, steps, seed, json_path):
    """Prior quality: epsilon loss on the 500 held-out test digits at each t, and the share of
    unconditional samples the shipped digit classifier labels with confidence >= 0.9."""
    import time

    from ..data.mnist import mnist_split
    from ..evaluation.classifier import load_classifier
    from ..evaluation.prior_quality import denoising_loss, sample_confidence
    from ..outputs import bench_output, write_bench_json
    from ..priors.image_unet import load_image_prior

    target = None if json_path is None else bench_output(json_path)  # refused before any work
    try:
        ts = [int(t) for t in times.split(",")]
    except ValueError:
        raise ValueError(f"--times must be comma-separated integers, got {times!r}") from None
    if prior_path is not None and not str(prior_path).endswith(".safetensors"):  # a spec reads as a missing file
        raise click.BadParameter(
            f"{prior_path!r}: bench prior measures a lavps image prior file (.safetensors, MNIST-shaped), not a spec",
            param_hint="--prior",
        )
    start = time.perf_counter()
    prior = load_image_prior(prior_path)
    if any(not 1 <= t <= prior.schedule.num_steps for t in ts):
        raise ValueError(f"--times must lie in [1, {prior.schedule.num_steps}], got {times!r}")
    images, _ = mnist_split("test")
    loss = denoising_loss(prior, images, ts, seed=seed)
    realism = sample_confidence(prior, load_classifier(), n=samples, steps=steps, seed=seed)
    for t, (m, ci) in loss.items():
        click.echo(f"held-out eps loss  t={t:<4d} {m:.4f} +- {ci:.4f}  ({len(images)} test digits)")
    click.echo(
        f"confident samples  {realism['confident_share']:.3f}  ({samples} DDIM-{steps} samples, p >= 0.9); "
        f"labels {realism['label_counts']}"
    )
    if json_path is not None:
        payload = {"prior": str(prior_path or "shipped"), "eps_loss": {t: list(v) for t, v in loss.items()}, **realism}
        payload["config"] = {"times": ts, "samples": samples, "steps": steps, "seed": seed}
        payload["seconds"] = time.perf_counter() - start
        write_bench_json(target, payload)
