"""`lavps train-amortizer` and `lavps train-supervised`: train LAVPS's amortizer or the supervised baseline."""

from __future__ import annotations

import click

from .main import cli

__all__ = ["train_amortizer_command", "train_supervised_command"]

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
        type=click.Path(file_okay=False),
        default=None,
        help="Folder of clean PNG/JPEG images of the prior's size: training signals for network priors.",
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
    click.option("--batch", type=int, default=256, show_default=True, help="Batch size."),
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

    if o["threads"] < 1:
        raise ValueError(f"--threads must be >= 1, got {o['threads']}")
    torch.set_num_threads(o["threads"])
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
    )
    preset = resolve_prior(o["prior_spec"], o["prior_seed"], o["data"])
    family = resolve_family(o["family_spec"], tuple(preset.prior.shape))
    if len(preset.prior.shape) != 1:
        if kind != "amortizer":
            raise ValueError("the supervised baseline exists for vector priors only")
        from ..amortize.unet import UNetAmortizer

        # Images: the small UNet amortizer (input kind pinv unless asked otherwise).
        network = UNetAmortizer(tuple(preset.prior.shape), input_kind=o["input_kind"] or "pinv")
        result = train_amortizer(config, network.config, preset, family, progress=not o["quiet"], resume=o["resume"])
        click.echo(f"{kind}: {result.path} ({result.card['steps']} steps, {result.card['seconds_per_step']} s/step)")
        return
    net_cls, train = (
        (MLPAmortizer, train_amortizer) if kind == "amortizer" else (MLPConditionalDenoiser, train_supervised)
    )
    input_kind = o["input_kind"] or ("grad" if kind == "amortizer" else "pinv")
    network = net_cls(
        preset.prior.shape[0], o["hidden"], o["depth"], input_kind, round(estimate_signal_scale(preset), 6)
    )
    result = train(config, network.config, preset, family, progress=not o["quiet"], resume=o["resume"])
    final = ", ".join(f"{k} {v}" for k, v in result.card["final"].items())
    click.echo(
        f"{kind}: {result.path} ({result.card['steps']} steps, {result.card['seconds_per_step']} s/step; "
        f"last 100 steps: {final})"
    )


@cli.command("train-amortizer")
@_common
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
