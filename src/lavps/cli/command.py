"""Click classes of every `lavps` command: untruncated help lines, hidden deprecated option names and
options generated on first use."""

from __future__ import annotations

import inspect

import click

__all__ = ["LavpsCommand", "LavpsGroup", "first_paragraph"]


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
