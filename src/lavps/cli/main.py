"""`lavps` entry point: imports every command (they register on `lavps.cli.group.cli`) and turns library
errors into one line."""

from __future__ import annotations

import os
import sys
import warnings

import click

from .group import cli

__all__ = ["cli", "main"]


def _register() -> None:
    # Each command lives in its own module; imported lazily here so `lavps --help` stays fast.
    from . import commands  # noqa: F401


class UserError(Exception):
    """An error caused by bad input that the CLI reports as one line."""


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    # The library's warnings (an unreadable card, a deprecated option) read as the CLI's other messages:
    # one line, no source excerpt.
    return "warning: " + " ".join(str(message).split()) + "\n"


def main(argv: list[str] | None = None) -> None:
    _register()
    warnings.formatwarning = _one_line_warning
    try:
        cli.main(args=argv, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        _fail(e.format_message(), e.exit_code or 2)
    except (ValueError, TypeError, FileNotFoundError, OSError, RuntimeError, KeyError) as e:
        _fail(str(e), 2)


def _fail(message: str, code: int) -> None:
    # Exactly one line on stderr, whatever the message holds; under torchrun every rank fails the same way,
    # so only rank 0 says it (the others exit with the same code, silently).
    if os.environ.get("RANK", "0") in ("", "0"):
        click.echo("error: " + " ".join(message.split()), err=True)
    sys.exit(code)
