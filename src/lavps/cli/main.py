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
        _fail(_unwrapped(str(e)), 2, e)


def _unwrapped(message: str) -> str:
    # a DataLoader worker's error arrives as "Caught X in DataLoader worker process N. Original Traceback ...
    # X: message": the user needs the message, not the worker's traceback
    if message.startswith("Caught ") and "Original Traceback" in message:
        last = message.rstrip().splitlines()[-1]
        kind, sep, inner = last.partition(": ")
        return inner if sep and kind.replace(".", "").isidentifier() else last
    return message


def _fail(message: str, code: int, error: BaseException | None = None) -> None:
    # One line on stderr, whatever the message holds. Under torchrun (see _said_here) a rank's own error is
    # printed by that rank, prefixed with it; a collective that failed because another rank stopped is not
    # this rank's error: rank 0 says so in one short line, the others exit silently.
    said = _said_here(message, error)
    if said is not None:
        click.echo("error: " + said, err=True)
    sys.exit(code)


def _said_here(message: str, error: BaseException | None) -> str | None:
    """What this process prints (None: nothing). Before a process group is joined every rank runs the same
    command line and fails the same way, so rank 0 alone says it; once joined, a rank's error may be its
    alone (an image of its shard), so each failing rank says its own, as `[rank R] message`."""
    rank = os.environ.get("RANK", "0")
    distributed = sys.modules.get("lavps.distributed")  # imported by every command that joins a group
    world = distributed.current_world() if distributed is not None else None
    if world is None or world.size == 1:
        return " ".join(message.split()) if rank in ("", "0") else None
    if error is not None and distributed.is_peer_loss(error):
        if not world.is_main:
            return None
        said = "[rank 0] stopped: another rank stopped first (its error line, if it printed one, is above)"
        # not a lost connection (NCCL set-up, a timeout: every rank may hit it alike): its cause is said too
        return said if distributed.lost_connection(error) else f"{said}; here: {' '.join(message.split())[:200]}"
    return f"[rank {world.rank}] " + " ".join(message.split())
