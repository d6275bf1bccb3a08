"""`lavps` entry point: imports every command (they register on `lavps.cli.group.cli`) and turns library
errors into one line."""

from __future__ import annotations

import os
import signal
import sys
import threading
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


def _exit_on_sigterm(signum, frame) -> None:
    # SIGTERM (a scheduler, `kill`, torchrun stopping its workers) unwinds like Ctrl-C: every output folder's
    # `with` block removes its hidden temporary folder instead of leaving it behind
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> None:
    _register()
    warnings.formatwarning = _one_line_warning
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm) if main_thread else None
    try:
        _run(argv)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def _run(argv: list[str] | None) -> None:
    try:
        cli.main(args=argv, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        _fail(e.format_message(), e.exit_code or 2)
    except (ValueError, TypeError, FileNotFoundError, OSError, RuntimeError, KeyError) as e:
        _fail(_unwrapped(str(e)), 2)


def _unwrapped(message: str) -> str:
    # a DataLoader worker's error arrives as "Caught X in DataLoader worker process N. Original Traceback ...
    # X: message": the user needs the message, not the worker's traceback
    if message.startswith("Caught ") and "Original Traceback" in message:
        last = message.rstrip().splitlines()[-1]
        kind, sep, inner = last.partition(": ")
        return inner if sep and kind.replace(".", "").isidentifier() else last
    return message


def _fail(message: str, code: int) -> None:
    # Exactly one line on stderr, whatever the message holds; under torchrun every rank fails the same way,
    # so only rank 0 says it (the others exit with the same code, silently).
    if os.environ.get("RANK", "0") in ("", "0"):
        click.echo("error: " + " ".join(message.split()), err=True)
    sys.exit(code)
