"""`lavps train-prior`: train (or resume, or finish) the project's small image diffusion prior."""

from __future__ import annotations

import click

from .group import cli
from .options import OPTIONS, FiniteFloat, grouped, option

__all__ = ["train_prior_command"]


@cli.command("train-prior", renamed={"--steps": "--iterations", "--batch": "--batch-size", "--workers": "--threads"})
@click.option("--data", type=click.Choice(["mnist"]), default="mnist", show_default=True, help="Training data.")
@click.option("--size", type=click.IntRange(1), default=32, show_default=True, help="Image side in pixels (mnist: 32).")
@option("iterations", default=4500)
@option("batch_size", default=32)
@option("train_lr", default=2e-3, help="AdamW learning rate after warm-up (> 0).")
@click.option("--warmup", type=click.IntRange(0), default=200, show_default=True, help="Linear warm-up iterations.")
@option("seed", default=0, help="Seed of the weights, batches, t and noise.")
@option("out_dir", default="runs/prior", help="Folder for checkpoints and outputs.")
@click.option(
    "--ema", type=FiniteFloat(min=0.0, max=1.0), default=0.999, show_default=True, help="EMA decay of the weights."
)
@option("ckpt_every", default=200)
@option("resume")
@click.option(
    "--grad-accum",
    type=click.IntRange(1),
    default=None,
    show_default="the world size; with --resume the checkpoint's",
    help="Micro-batches per iteration (gradient accumulation; under torchrun each of the W ranks takes K/W). "
    "Default: the world size, or the checkpoint's value with --resume.",
)
@option(
    "init_from",
    default=None,
    show_default="none: fresh weights",
    help=OPTIONS["init_from"][1]["help"] + " E.g. the shipped prior's file.",
)
@option("precision", type=click.Choice(["fp32", "bf16"]), help="bf16: autocast the training forward passes.")
@option("quiet")
@grouped("images", dict, "data", "size")
@grouped("budget", dict, "iterations", "batch_size", "lr", "warmup", "ema", "grad_accum")
@grouped("run", dict, "out_dir", "ckpt_every", "resume", "quiet")
def train_prior_command(
    images: dict, budget: dict, seed: int, run: dict, init_from: str | None, precision: str
) -> None:
    """Train the unconditional image prior; writes the EMA prior, its card and a sample grid to --out.

    With --resume and --iterations not above the checkpoint's step, only the export is (re)done.
    Under `torchrun --nproc_per_node N` the run is data-parallel (--batch-size is the global batch).
    """
    from pathlib import Path

    from ..distributed import init_from_env
    from ..training.prior import CHECKPOINT_NAME, PriorTrainConfig, train_prior
    from .command import threads_in_use
    from .train_amortizer import resolve_grad_accum

    world = init_from_env()
    checkpoint = (Path(run["out_dir"]) / CHECKPOINT_NAME).with_suffix(".json")
    micro = resolve_grad_accum(budget["grad_accum"], run["resume"], checkpoint, world.size)

    config = PriorTrainConfig(
        data=images["data"],
        image_size=images["size"],
        steps=budget["iterations"],
        batch_size=budget["batch_size"],
        lr=budget["lr"],
        warmup=budget["warmup"],
        seed=seed,
        out_dir=run["out_dir"],
        ema_decay=budget["ema"],
        ckpt_every=run["ckpt_every"],
        threads=threads_in_use(),
        micro_batches=micro,
        precision=precision,
        init_from=init_from,
    )
    if not run["resume"]:  # a new run never replaces a file (the inputs or another run's outputs)
        from ..outputs import refuse_existing

        name = config.name
        names = [CHECKPOINT_NAME, Path(CHECKPOINT_NAME).with_suffix(".json").name, f"{name}.safetensors"]
        hint = "resume it (--resume) or choose another folder"
        refuse_existing(run["out_dir"], [*names, f"{name}.json", f"{name}_samples.png"], hint)
    result = train_prior(config, progress=not run["quiet"], resume=run["resume"])
    if result is None:  # not rank 0
        return
    card = result.card
    click.echo(
        f"prior: {result.prior_path} ({card['steps']} steps, final loss {card['final_loss']}, "
        f"{card['seconds_per_step']} s/step); samples: {result.samples_path}"
    )
