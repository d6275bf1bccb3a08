"""`lavps train-prior`: train (or resume, or finish) the project's small image diffusion prior."""

from __future__ import annotations

import click

from .main import cli

__all__ = ["train_prior_command"]


@cli.command("train-prior")
@click.option("--data", type=click.Choice(["mnist"]), default="mnist", show_default=True, help="Training data.")
@click.option("--size", type=int, default=32, show_default=True, help="Image side in pixels (mnist: 32).")
@click.option("--steps", type=int, default=4500, show_default=True, help="Total optimizer steps of the run.")
@click.option(
    "--batch", type=int, default=32, show_default=True, help="GLOBAL batch size (all ranks and micro-batches)."
)
@click.option("--lr", type=float, default=2e-3, show_default=True, help="AdamW learning rate (after warm-up).")
@click.option("--warmup", type=int, default=200, show_default=True, help="Linear learning-rate warm-up steps.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of weights, batches, t and noise.")
@click.option("--out", "out_dir", default="runs/prior", show_default=True, help="Folder for checkpoints and outputs.")
@click.option("--ema", type=float, default=0.999, show_default=True, help="EMA decay of the exported weights.")
@click.option("--ckpt-every", type=int, default=200, show_default=True, help="Checkpoint interval in steps.")
@click.option("--threads", type=int, default=1, show_default=True, help="torch CPU threads.")
@click.option("--resume/--no-resume", default=False, show_default=True, help="Continue the checkpoint in --out.")
@click.option(
    "--grad-accum",
    type=click.IntRange(1),
    default=None,
    help="Micro-batches per step (gradient accumulation; under torchrun each of the W ranks takes K/W). "
    "Default: the world size, or the checkpoint's value with --resume.",
)
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default="fp32", show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train_prior_command(
    data: str,
    size: int,
    steps: int,
    batch: int,
    lr: float,
    warmup: int,
    seed: int,
    out_dir: str,
    ema: float,
    ckpt_every: int,
    threads: int,
    resume: bool,
    grad_accum: int | None,
    precision: str,
    quiet: bool,
) -> None:
    """Train the unconditional image prior; writes the EMA prior, its card and a sample grid to --out.

    With --resume and --steps not above the checkpoint's step, only the export is (re)done.
    Under `torchrun --nproc_per_node N` the run is data-parallel (--batch is the global batch).
    """
    from pathlib import Path

    from ..training.distributed import init_from_env
    from ..training.prior import CHECKPOINT_NAME, PriorTrainConfig, train_prior
    from .train_amortizer import resolve_grad_accum

    world = init_from_env()
    micro = resolve_grad_accum(grad_accum, resume, (Path(out_dir) / CHECKPOINT_NAME).with_suffix(".json"), world.size)

    config = PriorTrainConfig(
        data=data,
        image_size=size,
        steps=steps,
        batch_size=batch,
        lr=lr,
        warmup=warmup,
        seed=seed,
        out_dir=out_dir,
        ema_decay=ema,
        ckpt_every=ckpt_every,
        threads=threads,
        micro_batches=micro,
        precision=precision,
    )
    result = train_prior(config, progress=not quiet, resume=resume)
    if result is None:  # not rank 0
        return
    card = result.card
    click.echo(
        f"prior: {result.prior_path} ({card['steps']} steps, final loss {card['final_loss']}, "
        f"{card['seconds_per_step']} s/step); samples: {result.samples_path}"
    )
