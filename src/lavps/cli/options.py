"""Shared CLI vocabulary: one definition per option (name, type, help), reused by every command.

Sampler settings are not here: their options are generated from the samplers' configs
(`lavps.cli.settings`). Concepts and their one name: the sampling grid `--steps`; Adam budgets
`--adam-out`, `--adam-in`, `--inner-steps` (a list where bench pareto sweeps them); optimiser steps of
training `--iterations`; the measurement `--operator`; worker processes `--workers`, torch threads
`--threads` (every command, lavps.cli.command); independent benchmark problems `--problems` (a count)
beside `--seed` (the first seed). Float options refuse nan and inf.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..priors.schemes import prior_spec_help

__all__ = [
    "SEED_MIN",
    "SEED_MAX",
    "Seed",
    "OPTIONS",
    "FiniteFloat",
    "GridSize",
    "ImageSize",
    "LazyChoice",
    "ListOption",
    "grouped",
    "option",
]


#: seeds torch's generators accept (a signed 64-bit integer); sample i of a run uses seed + i
SEED_MIN, SEED_MAX = -(2**63), 2**63 - 1


class FiniteFloat(click.ParamType):
    """A finite float (nan and inf refused), optionally bounded: `FiniteFloat(min=0, min_open=True)` is > 0."""

    name = "float"

    def __init__(self, min: float | None = None, max: float | None = None, min_open: bool = False) -> None:
        self.min, self.max, self.min_open = min, max, min_open

    def _bounds(self) -> str:
        parts = []
        if self.min is not None:
            parts.append(f"{'>' if self.min_open else '>='} {self.min:g}")
        if self.max is not None:
            parts.append(f"<= {self.max:g}")
        return " and ".join(parts)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            v = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(v):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        low_ok = self.min is None or (v > self.min if self.min_open else v >= self.min)
        if not low_ok or (self.max is not None and v > self.max):
            self.fail(f"{v:g} is not {self._bounds()}", param, ctx)
        return v

    def __repr__(self) -> str:
        return f"FiniteFloat({self._bounds() or 'any'})"


class GridSize(click.IntRange):
    """A sampling grid size N in 4..1000 (the schedule has K = 1000 steps); `hint` is added to its errors."""

    def __init__(self, hint: str = "") -> None:
        super().__init__(4, 1000)
        self.hint = hint

    def fail(self, message: str, param: click.Parameter | None = None, ctx: click.Context | None = None):
        super().fail(f"{message} ({self.hint})" if self.hint else message, param, ctx)


class Seed(click.IntRange):
    """A seed torch's generators accept: a signed 64-bit integer (sample i of a run uses seed + i)."""

    def __init__(self) -> None:
        super().__init__(SEED_MIN, SEED_MAX)

    def _describe_range(self) -> str:
        return "-2**63..2**63-1"


class LazyChoice(click.Choice):
    """A choice whose values are read when first needed (parsing, help), e.g. from the sampler registry,
    so that listing the commands imports nothing heavy."""

    def __init__(self, names: Callable[[], Any]) -> None:  # click.Choice's own init would read them now
        self.names, self.case_sensitive = names, True

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self.names())


class ImageSize(click.ParamType):
    """An image size `C,H,W` of positive integers, e.g. 1,32,32."""

    name = "C,H,W"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, int, int]:
        if isinstance(value, tuple):
            return value
        try:
            size = tuple(int(v) for v in str(value).split(","))
        except ValueError:
            size = ()
        if len(size) != 3 or min(size) < 1:
            self.fail(f"{value!r} is not C,H,W with three positive integers (e.g. 1,32,32)", param, ctx)
        return size


class ListOption(click.Option):
    """An option that takes every following argument up to the next option: `--samplers dps mgdm`."""

    def __init__(self, *args, item_type=str, **kwargs):
        kwargs.setdefault("multiple", False)
        super().__init__(*args, **kwargs)
        self.item_type = click.types.convert_type(item_type)

    def add_to_parser(self, parser, ctx):
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            opt = parser._long_opt.get(name) or parser._short_opt.get(name)
            if opt is None:
                continue
            original = opt.process

            def process(value, state, _original=original):
                values = [value]
                while state.rargs and not state.rargs[0].startswith("-"):
                    values.append(state.rargs.pop(0))
                _original(values, state)

            opt.process = process

    def type_cast_value(self, ctx, value):
        if value is None:
            return None
        if isinstance(value, str):
            value = value.split(",") if "," in value else [value]
        items = []
        for v in value:
            items.extend(p for p in str(v).split(",") if p.strip())
        if not items:  # '' would run nothing, or silently the defaults
            raise click.BadParameter("empty list; give at least one value", ctx, self)
        converted = tuple(self.item_type.convert(v, self, ctx) for v in items)
        repeated = sorted({str(v) for v in converted if converted.count(v) > 1})
        if repeated:  # a value given twice would be pooled as if it were independent problems
            raise click.BadParameter(f"{', '.join(repeated)} given more than once", ctx, self)
        return converted


_POSITIVE = FiniteFloat(min=0.0, min_open=True)

#: name -> (declarations, click.option keyword arguments). Commands pick an entry and may override its
#: default or help; the type, the declaration and the wording of the concept stay in this one place.
OPTIONS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "steps": (("--steps",), dict(type=GridSize(), help="Sampling grid size N of MGDM / LAVPS (4..1000 points).")),
    "lr": (("--lr",), dict(type=_POSITIVE, help="Adam learning rate of MGDM's inner problem (> 0).")),
    "adam_out": (("--adam-out",), dict(type=click.IntRange(0), help="Adam steps per iteration outside the window.")),
    "adam_in": (("--adam-in",), dict(type=click.IntRange(0), help="MGDM Adam steps per iteration inside the window.")),
    "inner_steps": (
        ("--inner-steps",),
        dict(type=click.IntRange(0), help="LAVPS Adam steps after the best-of guard (G_in), inside the window."),
    ),
    "init_from": (
        ("--init-from",),
        dict(
            type=click.Path(dir_okay=False),
            help="Fine-tune: start from the weights of this file (same architecture) instead of fresh "
            "weights. Recorded in the card.",
        ),
    ),
    "window": (("--window",), dict(type=click.IntRange(1), help="Final window: the last W iterations of the grid.")),
    "sigma": (("--sigma",), dict(type=_POSITIVE, help="Observation noise sigma_y (> 0).")),
    "seed": (("--seed",), dict(type=Seed(), help="Seed of every random draw.")),
    "problems": (
        ("--problems",),
        dict(type=click.IntRange(1), help="Independent problems per cell (each its own prior weights, A, x* and y)."),
    ),
    "samples": (("--samples",), dict(type=click.IntRange(2), help="Posterior samples per problem.")),
    "prior_steps": (
        ("--prior-steps",),
        dict(type=click.IntRange(3, 1000), help="Ancestral (DDIM eta = 1) steps that draw each x* from the prior."),
    ),
    "workers": (
        ("--workers",),
        dict(type=click.IntRange(1), help="Worker processes (each with --threads torch threads)."),
    ),
    "iterations": (("--iterations",), dict(type=click.IntRange(1), help="Total optimiser steps of the run.")),
    "batch_size": (("--batch-size",), dict(type=click.IntRange(1), help="Training batch size.")),
    "train_lr": (("--lr",), dict(type=_POSITIVE, help="AdamW learning rate (> 0).")),
    "weight_decay": (("--weight-decay",), dict(type=FiniteFloat(min=0.0), help="AdamW weight decay (>= 0).")),
    "ckpt_every": (("--ckpt-every",), dict(type=click.IntRange(1), help="Checkpoint interval in iterations.")),
    "resume": (
        ("--resume/--no-resume",),
        dict(default=False, help="Continue the checkpoint in --out (an error if there is none)."),
    ),
    "prior_path": (
        ("--prior", "prior_path"),
        dict(
            default=None,
            show_default="mnist",
            help=prior_spec_help(),  # from the table load_prior resolves: the two cannot drift apart
        ),
    ),
    "amortizer": (
        ("--amortizer",),
        dict(default=None, type=click.Path(exists=True, dir_okay=False), help="Trained amortizer (.safetensors)."),
    ),
    "supervised": (
        ("--supervised", "supervised_path"),
        dict(default=None, type=click.Path(exists=True, dir_okay=False), help="Supervised baseline (.safetensors)."),
    ),
    "json": (
        ("--json", "json_path"),
        dict(default=None, type=click.Path(dir_okay=False, path_type=Path), help="Write the config and rows here."),
    ),
    "out_dir": (
        ("--out", "out_dir"),
        dict(type=click.Path(file_okay=False), help="Output folder (checkpoints, weights, card)."),
    ),
    "quiet": (("--quiet",), dict(is_flag=True, default=False, help="No progress bar.")),
    "fit": (
        ("--fit",),
        dict(
            type=click.Choice(["crop", "resize"]),
            default=None,
            show_default="error on another shape",
            help="Make an image of another size or channel count fit the prior: centre-crop or resize "
            "(docs/images.md).",
        ),
    ),
    "device": (
        ("--device",),
        dict(default="auto", help="Where the prior's network runs: auto, cpu, cuda, cuda:N or mps (docs/devices.md)."),
    ),
    "precision": (
        ("--precision",),
        dict(
            type=click.Choice(["fp32", "bf16", "fp16"]),
            default="fp32",
            help="Precision of the prior's network (the variational parameters and likelihood stay fp32).",
        ),
    ),
    "noise_on_device": (
        ("--noise-on-device",),
        dict(is_flag=True, default=False, help="Draw the noise on the device (faster on a GPU; default: on the CPU)."),
    ),
    "overwrite": (("--overwrite",), dict(is_flag=True, default=False, help="Replace existing outputs.")),
    "class_label": (
        ("--class-label",),
        dict(
            default=None,
            show_default="none (required, or null, for a class-conditional HDiT prior)",
            help="Class index N or 'null' for a class-conditional HDiT prior (docs/priors.md); refused for other "
            "priors.",
        ),
    ),
}


def option(name: str, **overrides: Any):
    """The click.option decorator of OPTIONS[name], with `show_default=True` and any overrides.

    `several=True` turns it into a space-separated list (`--adam-out 1 5`) of the same item type.
    """
    decls, base = OPTIONS[name]
    kwargs = {**base, "show_default": True, **overrides}
    if kwargs.pop("several", False):
        kwargs["item_type"] = kwargs.pop("type", str)
        kwargs["cls"] = ListOption
    return click.option(*decls, **kwargs)


def grouped(target: str, build: Callable, *names: str) -> Callable:
    """Decorator: the command receives `target=build(**{name: value of each option in names})` instead of
    those options one by one (keeps a command's signature short: one argument per concept)."""

    def decorate(f: Callable) -> Callable:
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            kwargs[target] = build(**{n: kwargs.pop(n) for n in names})
            return f(*args, **kwargs)

        return wrapper

    return decorate
