"""The root `lavps` command group. Command modules register on it (`@cli.command`); `lavps.cli.main`
imports them all, so registration points downward: main -> commands -> each command -> this module."""

from __future__ import annotations

import click

from .command import LavpsGroup

__all__ = ["cli"]


@click.group(cls=LavpsGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120})
@click.version_option(package_name="lavps")
def cli() -> None:
    """Diffusion posterior sampling for linear inverse problems (DPS, MGDM, LAVPS)."""
