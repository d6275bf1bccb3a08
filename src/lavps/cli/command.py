"""Click classes of every `lavps` command: untruncated help lines, hidden deprecated option names and
options generated on first use."""

from __future__ import annotations

import inspect
import os
import sys

import click

__all__ = ["LavpsCommand", "LavpsGroup", "first_paragraph", "DEFAULT_THREADS", "threads_in_use"]

#: torch CPU threads per lavps process unless --threads or OMP_NUM_THREADS says otherwise. One: beside any
#: other busy process, more threads than free cores collapse (results/threads: restore, DPS and `bench speed
#: --quick` 9-11x slower with 2 threads beside one busy process on a 2-core machine), while one thread was
#: at most 1.8x slower than 2 in a single run on a free core.
DEFAULT_THREADS = 1

#: beyond this OpenMP fails to create its pool (100000 threads segfaulted in OpenBLAS on this machine)
MAX_THREADS = max(1024, 8 * (os.cpu_count() or 1))

_threads: dict[str, int | None] = {"n": None}


def _env_threads() -> int | None:
    value = os.environ.get("OMP_NUM_THREADS", "")
    n = int(value) if value.isdigit() and int(value) > 0 else None
    return None if n is None else min(n, MAX_THREADS)


def threads_in_use() -> int:
    """The torch CPU threads of this command (--threads, else OMP_NUM_THREADS, else DEFAULT_THREADS)."""
    return _threads["n"] or _env_threads() or DEFAULT_THREADS


def _set_threads(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    """Set before torch is imported (its pools start at that size) and again if it already is."""
    n = value or _env_threads() or DEFAULT_THREADS
    _threads["n"] = n
    # torch reads OMP_NUM_THREADS when it is first imported (commands import it after parsing), and worker
    # processes (DataLoader, spawn pools) inherit it; an explicit --threads wins over the environment
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        given = os.environ.get(name, "")
        if given.isdigit() and int(given) > MAX_THREADS:  # would crash the pool: say so and use the cap
            click.echo(f"warning: {name}={given} is more than {MAX_THREADS} threads; using {n}", err=True)
            os.environ[name] = str(n)
        if value is not None or name not in os.environ:
            os.environ[name] = str(n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)
    return value


def _threads_option() -> click.Option:
    return click.Option(
        ["--threads"],
        type=click.IntRange(1, MAX_THREADS),
        default=None,
        expose_value=False,
        is_eager=True,
        callback=_set_threads,
        show_default=f"OMP_NUM_THREADS if set, else {DEFAULT_THREADS}",
        help="torch CPU threads of this process (worker processes: --workers, where a command has them).",
    )


def first_paragraph(text: str | None) -> str:
    """The first paragraph of a docstring on one line (what `lavps --help` lists, never cut)."""
    if not text:
        return ""
    return " ".join(inspect.cleandoc(text).split("\n\n")[0].split())


class LavpsCommand(click.Command):
    """A command whose old option names still work for one release, with a one-line warning.

    Args:
        renamed: {old option: new option}, e.g. {"--grid-steps": "--steps"}. The old name is rewritten
            before parsing (so it never shows in `--help`) and `warning: ...` goes to stderr.
    """

    def __init__(self, *args, renamed: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.renamed = dict(renamed or {})
        if not any(p.name == "threads" for p in self.params):  # every command computes: one --threads
            self.params.append(_threads_option())
        # options made on first use (the generated sampler settings, lavps.cli.settings): `lavps --help`
        # lists commands without importing what those options are generated from
        self.lazy_params = getattr(self.callback, "__lavps_lazy_params__", None)

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        if self.lazy_params is not None:
            factory, self.lazy_params = self.lazy_params, None
            self.params.extend(factory())
        return super().get_params(ctx)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rewritten = []
        for i, token in enumerate(args):
            if token == "--":
                rewritten.extend(args[i:])
                break
            name, eq, value = token.partition("=")
            if name in self.renamed:
                new = self.renamed[name]
                click.echo(f"warning: {name} is deprecated and will be removed; use {new}", err=True)
                token = new + eq + value
            rewritten.append(token)
        return super().parse_args(ctx, rewritten)

    def get_short_help_str(self, limit: int = 45) -> str:
        return self.short_help or first_paragraph(self.help)


class LavpsGroup(click.Group):
    """A group whose commands and subgroups are Lavps classes (help lines never truncated)."""

    command_class = LavpsCommand
    group_class = type  # subgroups (`lavps bench`) are LavpsGroups too

    def get_short_help_str(self, limit: int = 45) -> str:
        return self.short_help or first_paragraph(self.help)
