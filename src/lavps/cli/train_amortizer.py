"""`lavps train-amortizer` and `lavps train-supervised`: train LAVPS's amortizer or the supervised baseline."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .group import cli
from .options import OPTIONS, FiniteFloat, GridSize, option
from .train_data import check_validation, training_folder

__all__ = ["TRAINING_DEFAULTS", "train_amortizer_command", "train_supervised_command", "resolve_grad_accum"]

#: Settings per kind of prior: "image" is the recipe of the shipped amortizer (see its card), "vector" the
#: Gaussian-mixture study's. Keys are TrainConfig fields plus the operator family and the input kind.
TRAINING_DEFAULTS: dict[str, dict] = {
    "image": dict(
        family="motion_blur:9:0.5,gaussian_blur:9:2.0,sr:2,sr:4,box:0.3:0.5,pixels:0.2",
        sigma=0.05,
        grid_steps=20,
        window=17,
        steps=5000,
        batch_size=16,
        ckpt_every=50,
        input_kind="linear",
        channels="16,32",
    ),
    "vector": dict(
        family="dense:1",
        sigma=1.0,
        grid_steps=100,
        window=30,
        steps=3000,
        batch_size=256,
        ckpt_every=500,
        input_kind=None,
    ),
}

_RENAMED = {"--grid-steps": "--steps", "--family": "--operator", "--batch": "--batch-size", "--workers": "--threads"}


def _per_prior(key: str) -> str:
    image, vector = TRAINING_DEFAULTS["image"][key], TRAINING_DEFAULTS["vector"][key]
    return f"{image} (mnist), {vector} (gmm)"


def _prior_option(default: str, vectors_only: bool = False):
    text = "gmm:D (weights from --prior-seed) or gmm:D:fresh (new weights every batch)"
    if not vectors_only:
        text = (
            f"mnist (the shipped image prior), {text}, ldm:mnist (its latents), or any image prior spec but a "
            "latent one with --data (see docs/priors.md)"
        )
    return click.option("--prior", "prior_spec", default=default, show_default=True, help=f"Prior spec: {text}.")


_COMMON = [
    click.option(
        "--prior-seed", type=OPTIONS["seed"][1]["type"], default=0, show_default=True, help="Seed of the gmm:D weights."
    ),
    click.option(
        "--operator",
        "family_spec",
        default=None,
        show_default=_per_prior("family"),
        help="Training operator family: an image spec (e.g. motion_blur:9:0.5) or, for vectors, "
        "dense:K[:SCALE] / mask:K; several separated by commas train one network on their mixture.",
    ),
    option("sigma", default=None, show_default=_per_prior("sigma")),
    click.option(
        "--sigma-max",
        type=FiniteFloat(min=0.0, min_open=True),
        default=None,
        show_default="none: sigma_y fixed",
        help="With it, sigma_y per batch is log-uniform in [--sigma, --sigma-max].",
    ),
    option(
        "steps",
        default=None,
        show_default=_per_prior("grid_steps"),
        type=GridSize(hint="optimiser steps are --iterations"),
        help=OPTIONS["steps"][1]["help"] + " Optimiser steps are --iterations.",
    ),
    option("iterations", default=None, show_default=_per_prior("steps")),
    option("batch_size", default=None, show_default=_per_prior("batch_size")),
    option("train_lr", default=1e-3),
    option("weight_decay", default=1e-4),
    option("seed", default=0, help="Seed of the weights and of every training draw."),
    click.option(
        "--input-kind",
        type=click.Choice(["grad", "pinv", "linear"]),
        default=None,
        show_default="linear (train-amortizer on images), grad (vectors), pinv (train-supervised)",
        help="y_img: likelihood gradient at x0 (grad), pseudo-inverse A^+ y (pinv; the supervised baseline then "
        "uses no likelihood at all) or the Gaussian-linearised solution (linear).",
    ),
    click.option("--hidden", type=click.IntRange(1), default=256, show_default=True, help="MLP width (vectors)."),
    click.option("--depth", type=click.IntRange(1), default=3, show_default=True, help="MLP hidden layers (vectors)."),
    option("ckpt_every", default=None, show_default=_per_prior("ckpt_every")),
    option("resume"),
    option(
        "init_from",
        default=None,
        show_default="none: fresh weights",
        help=OPTIONS["init_from"][1]["help"] + " The network may come from another prior (e.g. its previous version).",
    ),
    click.option(
        "--grad-accum",
        type=click.IntRange(1),
        default=None,
        show_default="the world size; with --resume the checkpoint's",
        help="Split the global --batch-size into K micro-batches (gradient accumulation; under torchrun each of "
        "the W ranks takes K/W of them). Default: the world size, or the checkpoint's value with --resume.",
    ),
    option(
        "precision",
        type=click.Choice(["fp32", "bf16"]),
        help="bf16: autocast the training forward passes to bfloat16 (weights and optimizer stay float32).",
    ),
    option("quiet"),
]


#: options of image amortizers only (train-amortizer): the supervised baseline exists for vector priors
_IMAGE = [
    click.option(
        "--data",
        default=None,
        show_default="none (mnist: its train split)",
        help="Clean training images (image priors): a folder (searched recursively) or a glob of PNG/JPEG "
        "files, fitted to the prior's shape (center crop, then resize) and streamed by a DataLoader; "
        "network priors need it.",
    ),
    click.option(
        "--channels",
        default=None,
        show_default=TRAINING_DEFAULTS["image"]["channels"] + " (images)",
        help="UNet amortizer widths per level, comma-separated (image priors).",
    ),
    click.option(
        "--arch",
        type=click.Choice(["unet", "hdit"]),
        default="unet",
        show_default=True,
        help="Image amortizer: the small UNet, or the paper's HDiT on palette inputs (--hdit-config).",
    ),
    click.option(
        "--hdit-config",
        default="tiny",
        show_default=True,
        help="--arch hdit: HDiT structure, a preset (tiny, ffhq, imagenet) or a JSON file; fitted to the image size.",
    ),
]


def _common(func):
    for decorator in reversed(_COMMON):
        func = decorator(func)
    return func


def _image_options(func):
    for decorator in reversed(_IMAGE):
        func = decorator(func)
    return func


def _train(kind: str, o: dict) -> None:
    from ..amortize import MLPAmortizer, MLPConditionalDenoiser
    from ..distributed import init_from_env
    from ..outputs import refuse_existing
    from ..priors.latent import check_training_data
    from ..priors.specs import resolve_prior
    from ..training.amortizer import train_amortizer
    from ..training.networks import TrainConfig
    from ..training.problems import estimate_signal_scale, prior_family
    from ..training.supervised import train_supervised

    _check_grid_or_iterations(o["steps"], o["iterations"])
    check_validation(o)
    if not o["resume"]:  # a new run never replaces a file (the inputs or another run's outputs)
        names = [f"{kind}{s}" for s in (".safetensors", ".json", "_checkpoint.safetensors", "_checkpoint.json")]
        hint = "resume it (--resume) or choose another folder"
        refuse_existing(o["out_dir"], [*names, f"{kind}_metrics.jsonl"], hint)
    world = init_from_env()
    preset = resolve_prior(o["prior_spec"], o["prior_seed"])  # --data is streamed, not loaded (see train_data)
    check_training_data(preset, images=bool(o.get("data")))  # a latent prior: before any work
    if o.get("data") and len(preset.prior.shape) != 3:
        raise ValueError(f"--data needs an image prior; {o['prior_spec']!r} has shape {list(preset.prior.shape)}")
    if kind != "amortizer" and len(preset.prior.shape) != 1:
        raise click.BadParameter("the supervised baseline exists for vector priors (gmm:D) only", param_hint="--prior")
    defaults = TRAINING_DEFAULTS["vector" if len(preset.prior.shape) == 1 else "image"]

    def pick(key: str, default_key: str):
        return o[key] if o[key] is not None else defaults[default_key]

    config = TrainConfig(
        steps=pick("iterations", "steps"),
        batch_size=pick("batch_size", "batch_size"),
        lr=o["lr"],
        weight_decay=o["weight_decay"],
        seed=o["seed"],
        grid_steps=pick("steps", "grid_steps"),
        window=pick("window", "window"),
        sigma=pick("sigma", "sigma"),
        sigma_max=o["sigma_max"],
        ckpt_every=pick("ckpt_every", "ckpt_every"),
        out_dir=o["out_dir"],
        micro_batches=resolve_grad_accum(
            o["grad_accum"], o["resume"], Path(o["out_dir"]) / f"{kind}_checkpoint.json", world.size
        ),
        precision=o["precision"],
        val_every=o.get("val_every", 0),
        patience=o.get("patience", 0),
        init_from=o["init_from"],
        calibration_weight=o.get("calibration_weight", 0.0),
    )
    family = prior_family(pick("family_spec", "family"), preset.prior)
    if len(preset.prior.shape) != 1:
        from ..amortize.hdit import HDiTAmortizer
        from ..amortize.unet import UNetAmortizer

        # Images: the small UNet amortizer (input kind of the shipped one unless asked otherwise) or the HDiT.
        input_kind = o["input_kind"] or defaults["input_kind"]
        if o.get("arch") == "hdit":
            network = HDiTAmortizer(tuple(preset.prior.shape), o["hdit_config"], input_kind)
        else:
            channels = _channels(o["channels"] or defaults["channels"])
            network = UNetAmortizer(tuple(preset.prior.shape), channels=channels, input_kind=input_kind)
        data, validation = None, None
        if o.get("data"):
            preset, data, validation = training_folder(o, config, preset, family)
        result = train_amortizer(
            config, network.config, preset, family, not o["quiet"], o["resume"], data=data, validation=validation
        )
        if result is not None:
            last = result.card["validation"]["last"]
            extra = "".join(f", {k} {v:.4g}" for k, v in last.items())
            stop = " (stopped early)" if result.card["validation"]["stopped_early"] else ""
            click.echo(
                f"{kind}: {result.path} ({result.card['steps']} iterations on a {config.grid_steps}-point grid{stop}, "
                f"{result.card['seconds_per_step']} s/iteration{extra})"
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
        f"{kind}: {result.path} ({result.card['steps']} iterations on a {config.grid_steps}-point grid, "
        f"{result.card['seconds_per_step']} s/iteration; "
        f"last 100 steps: {final})"
    )


#: --steps above this without --iterations is refused: it reads like the optimiser steps it once meant
AMBIGUOUS_GRID = 100


def _check_grid_or_iterations(steps: int | None, iterations: int | None) -> None:
    """--steps is the sampling grid (20 points for images, 100 for vectors); it meant optimiser steps before
    (now --iterations). A large grid without --iterations is refused rather than guessed."""
    if steps is not None and steps > AMBIGUOUS_GRID and iterations is None:
        raise click.BadParameter(
            f"--steps {steps} is the sampling grid size (points of the amortized window's grid, default "
            f"{_per_prior('grid_steps')}), not optimiser steps; for {steps} optimiser steps use --iterations "
            f"{steps}; for a grid of {steps} points give --iterations too",
            param_hint="--steps",
        )


def _channels(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in str(text).split(",") if v.strip())
    except ValueError:
        values = ()
    if not values or any(v < 8 or v % 8 for v in values):
        raise click.BadParameter(f"expected comma-separated multiples of 8, got {text!r}", param_hint="--channels")
    return values


def resolve_grad_accum(given: int | None, resume: bool, checkpoint_json: Path, world_size: int) -> int:
    """--grad-accum as given; else the checkpoint's when resuming; else the world size."""
    if given is not None:
        return given
    if resume and checkpoint_json.is_file():
        saved = _saved_micro_batches(checkpoint_json)
        if isinstance(saved, int) and saved >= 1:
            return saved
    return world_size


def _saved_micro_batches(checkpoint_json: Path):
    """The checkpoint's micro_batches: from its JSON sidecar, else (a damaged sidecar) from the safetensors
    checkpoint's own header, which holds the same record; a valid checkpoint is never blocked by its sidecar."""
    from ..priors.checkpoint import read_header

    try:
        payload = json.loads(checkpoint_json.read_text())
        return payload["config"]["micro_batches"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    weights = checkpoint_json.with_suffix(".safetensors")
    try:
        return read_header(weights).get("config", {}).get("micro_batches")
    except (OSError, ValueError, AttributeError):
        click.echo(
            f"warning: cannot read --grad-accum from {checkpoint_json} or {weights}; using the default", err=True
        )
        return None


@cli.command("train-amortizer", renamed=_RENAMED)
@_prior_option("mnist")
@_common
@_image_options
@option(
    "window",
    default=None,
    show_default=_per_prior("window"),
    help="Amortized window: the last W iterations of the grid (k ~ U{1..W}, tau = T_k, t = T_k+1).",
)
@click.option(
    "--loader-workers", type=click.IntRange(0), default=2, show_default=True, help="DataLoader workers (--data)."
)
@click.option(
    "--val-count",
    type=click.IntRange(0),
    default=16,
    show_default=True,
    help="Held-out images of --data (at most a fifth of them).",
)
@click.option(
    "--val-every", type=click.IntRange(0), default=0, show_default=True, help="Validate every N iterations (0: never)."
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
    "--calibration-weight",
    type=FiniteFloat(min=0.0),
    default=0.0,
    show_default=True,
    help="lambda of the forward-KL term (exact posterior draws from the true x; lavps.objective.bridge_sample_nll).",
)
@option("out_dir", default="runs/amortizer", help="Output folder.")
def train_amortizer_command(**options) -> None:
    """Train LAVPS's amortizer by amortized VI on MGDM's inner objective; writes amortizer.safetensors + card."""
    _train("amortizer", options)


@cli.command("train-supervised", renamed=_RENAMED)
@_prior_option("gmm:8:fresh", vectors_only=True)  # the supervised baseline exists for vector priors only
@_common
@option("window", default=None, show_default=_per_prior("window"), help="Window of the training grid (k ~ U{1..W}).")
@option("out_dir", default="runs/supervised", help="Output folder.")
def train_supervised_command(**options) -> None:
    """Train the supervised baseline (conditional denoiser on (x, y) pairs); writes supervised.safetensors."""
    _train("supervised", options)
