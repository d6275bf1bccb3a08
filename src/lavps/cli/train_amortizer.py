"""`lavps train-amortizer` and `lavps train-supervised`: train LAVPS's amortizer or the supervised baseline."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .main import cli

__all__ = ["train_amortizer_command", "train_supervised_command", "resolve_grad_accum"]

_COMMON = [
    click.option(
        "--prior",
        "prior_spec",
        default="gmm:8:fresh",
        show_default=True,
        help="Prior spec: gmm:D (weights from --prior-seed), gmm:D:fresh (new weights every batch), mnist "
        "or any image prior spec with --data (see docs/priors.md).",
    ),
    click.option("--prior-seed", type=int, default=0, show_default=True, help="Seed of the gmm:D weights."),
    click.option(
        "--data",
        default=None,
        help="Clean training images (image priors): a folder (searched recursively) or a glob of PNG/JPEG "
        "files, fitted to the prior's shape (center crop, then resize) and streamed by a DataLoader. "
        "Default: the preset's own data (mnist); network priors need it.",
    ),
    click.option(
        "--family",
        "family_spec",
        default="dense:1",
        show_default=True,
        help="Training operator family: dense:K[:SCALE], mask:K (vectors) or an image spec.",
    ),
    click.option("--sigma", type=float, default=1.0, show_default=True, help="Observation noise sigma_y."),
    click.option(
        "--sigma-max",
        type=float,
        default=None,
        help="With it, sigma_y per batch is log-uniform in [--sigma, --sigma-max].",
    ),
    click.option("--grid-steps", type=int, default=100, show_default=True, help="Sampling grid size N."),
    click.option("--steps", type=int, default=3000, show_default=True, help="Total optimizer steps of the run."),
    click.option(
        "--batch",
        type=int,
        default=256,
        show_default=True,
        help="GLOBAL batch size (summed over ranks and micro-batches; must be divisible by --grad-accum).",
    ),
    click.option("--lr", type=float, default=1e-3, show_default=True, help="AdamW learning rate."),
    click.option("--weight-decay", type=float, default=1e-4, show_default=True, help="AdamW weight decay."),
    click.option("--seed", type=int, default=0, show_default=True, help="Seed of weights and all training draws."),
    click.option(
        "--input-kind",
        type=click.Choice(["grad", "pinv", "linear"]),
        default=None,
        help="y_img: likelihood gradient at x0 (grad; default of train-amortizer) or pseudo-inverse "
        "A^+ y (pinv; default of train-supervised, which then uses no likelihood at all).",
    ),
    click.option("--hidden", type=int, default=256, show_default=True, help="MLP width."),
    click.option("--depth", type=int, default=3, show_default=True, help="MLP hidden layers."),
    click.option("--ckpt-every", type=int, default=500, show_default=True, help="Checkpoint interval in steps."),
    click.option("--threads", type=int, default=1, show_default=True, help="torch CPU threads."),
    click.option("--resume/--no-resume", default=False, show_default=True, help="Continue the checkpoint in --out."),
    click.option(
        "--grad-accum",
        type=click.IntRange(1),
        default=None,
        help="Split the global batch into K micro-batches (gradient accumulation; under torchrun each of the "
        "W ranks takes K/W of them). Default: the world size, or the checkpoint's value with --resume.",
    ),
    click.option(
        "--precision",
        type=click.Choice(["fp32", "bf16"]),
        default="fp32",
        show_default=True,
        help="bf16: autocast the forward passes to bfloat16 (weights and optimizer stay float32).",
    ),
    click.option("--quiet", is_flag=True, help="No progress bar."),
]


def _common(func):
    for option in reversed(_COMMON):
        func = option(func)
    return func


def _train(kind: str, o: dict) -> None:
    import torch

    from ..amortize import (
        MLPAmortizer,
        MLPConditionalDenoiser,
        TrainConfig,
        estimate_signal_scale,
        resolve_family,
        train_amortizer,
        train_supervised,
    )
    from ..priors.presets import resolve_prior
    from ..training.distributed import init_from_env

    if o["threads"] < 1:
        raise ValueError(f"--threads must be >= 1, got {o['threads']}")
    torch.set_num_threads(o["threads"])
    world = init_from_env()
    micro = resolve_grad_accum(o["grad_accum"], o["resume"], Path(o["out_dir"]) / f"{kind}_checkpoint.json", world.size)
    config = TrainConfig(
        steps=o["steps"],
        batch_size=o["batch"],
        lr=o["lr"],
        weight_decay=o["weight_decay"],
        seed=o["seed"],
        grid_steps=o["grid_steps"],
        window=o.get("window", 30),
        sigma=o["sigma"],
        sigma_max=o["sigma_max"],
        ckpt_every=o["ckpt_every"],
        out_dir=o["out_dir"],
        micro_batches=micro,
        precision=o["precision"],
        val_every=o.get("val_every", 0),
        patience=o.get("patience", 0),
    )
    preset = resolve_prior(o["prior_spec"], o["prior_seed"])  # --data is streamed, not loaded (see _folder)
    family = resolve_family(o["family_spec"], tuple(preset.prior.shape))
    if o.get("data") and len(preset.prior.shape) != 3:
        raise ValueError(f"--data needs an image prior; {o['prior_spec']!r} has shape {list(preset.prior.shape)}")
    if len(preset.prior.shape) != 1:
        if kind != "amortizer":
            raise ValueError("the supervised baseline exists for vector priors only")
        from ..amortize.unet import UNetAmortizer

        # Images: the small UNet amortizer (input kind pinv unless asked otherwise).
        network = UNetAmortizer(tuple(preset.prior.shape), input_kind=o["input_kind"] or "pinv")
        data, validation = None, None
        if o.get("data"):
            preset, data, validation = _folder(o, config, preset, family)
        result = train_amortizer(
            config, network.config, preset, family, not o["quiet"], o["resume"], data=data, validation=validation
        )
        if result is not None:
            last = result.card["validation"]["last"]
            extra = "".join(f", {k} {v:.4g}" for k, v in last.items())
            stop = " (stopped early)" if result.card["validation"]["stopped_early"] else ""
            click.echo(
                f"{kind}: {result.path} ({result.card['steps']} steps{stop}, "
                f"{result.card['seconds_per_step']} s/step{extra})"
            )
        return
    net_cls, train = (
        (MLPAmortizer, train_amortizer) if kind == "amortizer" else (MLPConditionalDenoiser, train_supervised)
    )
    input_kind = o["input_kind"] or ("grad" if kind == "amortizer" else "pinv")
    network = net_cls(
        preset.prior.shape[0], o["hidden"], o["depth"], input_kind, round(estimate_signal_scale(preset), 6)
    )
    result = train(config, network.config, preset, family, progress=not o["quiet"], resume=o["resume"])
    if result is None:  # not rank 0
        return
    final = ", ".join(f"{k} {v}" for k, v in result.card["final"].items())
    click.echo(
        f"{kind}: {result.path} ({result.card['steps']} steps, {result.card['seconds_per_step']} s/step; "
        f"last 100 steps: {final})"
    )


def resolve_grad_accum(given: int | None, resume: bool, checkpoint_json: Path, world_size: int) -> int:
    """--grad-accum as given; else the checkpoint's when resuming; else the world size."""
    if given is not None:
        return given
    if resume and checkpoint_json.is_file():
        saved = json.loads(checkpoint_json.read_text()).get("config", {}).get("micro_batches")
        if isinstance(saved, int) and saved >= 1:
            return saved
    return world_size


def _folder(o: dict, config, preset, family):
    """The preset (its description names the data), the streamed training images of --data and the
    validation on the held-out ones (--val-count, at most a fifth of the images)."""
    import dataclasses

    import torch

    from ..data.folder import FolderData, ImageFolder, check_images, list_images, split_holdout
    from ..evaluation.amortizer_validation import amortizer_validation
    from ..imaging.fit import read_fitted
    from ..training.distributed import current_world

    shape = tuple(preset.prior.shape)
    images = list_images(o["data"], warn=current_world().is_main)
    check_images(images.files, shape)
    train, held = split_holdout(images, min(o["val_count"], len(images.files) // 5))
    description = {
        "source": str(o["data"]),
        "images": len(images.files),
        "train": len(train),
        "held_out": len(held),
        "fit": "center crop to the prior's aspect ratio, then Lanczos resize",
        "held_out_rule": "lowest sha256 of the relative names",
    }
    data = FolderData(
        ImageFolder(train, shape), config.seed, config.batch_size, config.micro_batches, config.steps, o["workers"]
    )
    data.description = description
    preset = dataclasses.replace(
        preset, description=preset.description | {"data": f"{len(images.files)} images from {o['data']}"}
    )
    validation = None
    if held and config.val_every:
        val = torch.stack([read_fitted(p, shape) for p in held])
        validation = amortizer_validation(config, preset, family, val, o["psnr_images"], config.seed)
    return preset, data, validation


@cli.command("train-amortizer")
@_common
@click.option("--workers", type=click.IntRange(0), default=2, show_default=True, help="DataLoader workers (--data).")
@click.option(
    "--val-count",
    type=click.IntRange(0),
    default=16,
    show_default=True,
    help="Held-out images of --data (at most a fifth of them).",
)
@click.option(
    "--val-every", type=click.IntRange(0), default=0, show_default=True, help="Validate every N steps (0: never)."
)
@click.option(
    "--patience",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Stop after N validations without a lower validation ratio (0: never).",
)
@click.option(
    "--psnr-images", type=click.IntRange(0), default=2, show_default=True, help="Held-out images restored by LAVPS."
)
@click.option(
    "--window",
    type=int,
    default=30,
    show_default=True,
    help="Amortized window: the last W iterations of the grid (k ~ U{1..W}, tau = T_k, t = T_k+1).",
)
@click.option("--out", "out_dir", default="runs/amortizer", show_default=True, help="Output folder.")
def train_amortizer_command(**options) -> None:
    """Train LAVPS's amortizer by amortized VI on MGDM's inner objective; writes amortizer.safetensors + card."""
    _train("amortizer", options)


@cli.command("train-supervised")
@_common
@click.option("--out", "out_dir", default="runs/supervised", show_default=True, help="Output folder.")
def train_supervised_command(**options) -> None:
    """Train the supervised baseline (conditional denoiser on (x, y) pairs); writes supervised.safetensors."""
    _train("supervised", options)
