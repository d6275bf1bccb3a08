"""`lavps` entry point: registers the command groups and turns library errors into one line."""

from __future__ import annotations

import sys

import click

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lavps")
def cli() -> None:
    """Diffusion posterior sampling for linear inverse problems (DPS, MGDM, LAVPS)."""


def _register() -> None:
    # Each command lives in its own module; imported lazily here so `lavps --help` stays fast.
    from . import commands  # noqa: F401


class UserError(Exception):
    """An error caused by bad input that the CLI reports as one line."""


def main(argv: list[str] | None = None) -> None:
    _register()
    try:
        cli.main(args=argv, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except (ValueError, TypeError, FileNotFoundError, OSError, RuntimeError, KeyError) as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(2)
