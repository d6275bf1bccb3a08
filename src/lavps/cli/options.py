"""Click helpers: space-separated list options (`--dim 8 80 800`) and a quiet flag."""

from __future__ import annotations

import click

__all__ = ["ListOption", "fit_option", "device_options"]


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
            items.extend(p for p in str(v).split(",") if p)
        return tuple(self.item_type.convert(v, self, ctx) for v in items)


def fit_option(f):
    """`--fit crop|resize` (lavps.imaging.io.fit_image)."""
    return click.option(
        "--fit",
        type=click.Choice(["crop", "resize"]),
        default=None,
        help="Make an image of another size or channel count fit: centre-crop or resize (default: error).",
    )(f)


def device_options(f=None, noise: bool = True):
    """`--device`, `--precision` and (with noise) `--noise-on-device` (docs/devices.md)."""
    if f is None:
        return lambda g: device_options(g, noise)
    if noise:
        f = click.option(
            "--noise-on-device", is_flag=True, help="Draw the noise on the device (faster on a GPU; default: CPU)."
        )(f)
    f = click.option(
        "--precision",
        type=click.Choice(["fp32", "bf16", "fp16"]),
        default="fp32",
        show_default=True,
        help="Precision of the prior's network (the variational parameters and likelihood stay fp32).",
    )(f)
    return click.option(
        "--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps (the prior's network)."
    )(f)
