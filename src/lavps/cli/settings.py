"""CLI options of sampler settings, generated from the samplers' config dataclasses.

`@sampler_settings(...)` adds one option per config field of the samplers (`lavps.samplers.configs.CONFIGS`;
field `adam_out` -> `--adam-out`, `lavps.samplers.config.option_name`; type from the field's annotation; help
from its documentation, with the samplers that have it) and hands the command ONE argument, `settings`: a
`SettingsChoice` of what the user gave. A new field on a sampler's config appears on `lavps restore`,
`lavps demo` and `lavps bench gmm` without touching the CLI. Range rules are the configs' own
(`__post_init__`), so every command refuses the same values with the same message.

The options are made when a command is first parsed or asked for help (`LavpsCommand`) from the torch-free
configs, so neither `lavps --help` nor a command's `--help` imports torch.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Literal

import click

from .options import FiniteFloat, ListOption

__all__ = ["SettingsChoice", "sampler_settings", "setting_options", "LAZY_PARAMS"]

#: attribute of a command callback holding the factory of its generated options (read by LavpsCommand)
LAZY_PARAMS = "__lavps_lazy_params__"
#: deprecated per-sampler spellings of `--steps` (one release): option -> (sampler, field)
SCOPED = {"--dps-steps": ("dps", "steps"), "--ddrm-steps": ("ddrm", "steps"), "--diffpir-steps": ("diffpir", "steps")}


@dataclass(frozen=True)
class SettingsChoice:
    """The sampler settings given on the command line: `given` {field: value} applies to every sampler of
    the run that has the field; `scoped` {sampler: {field: value}} to that sampler only (old spellings)."""

    given: dict = field(default_factory=dict)
    scoped: dict = field(default_factory=dict)

    def for_sampler(self, name: str) -> dict:
        """The values that apply to sampler `name` over its config's defaults: the given fields it has,
        then its scoped ones; a default window longer than a given grid is capped (`presets.fit_to_grid`)."""
        from ..samplers.config import setting_names
        from ..samplers.configs import config_class
        from ..samplers.presets import fit_to_grid

        cls = config_class(name)
        own = set(setting_names(cls))
        values = {**{k: v for k, v in self.given.items() if k in own}, **self.scoped.get(name, {})}
        defaults = {k: getattr(cls(), k) for k in ("window", "final_tau") if k in own}
        fitted = fit_to_grid(defaults, values)
        return {**{k: v for k, v in fitted.items() if defaults.get(k) != v}, **values}

    def for_run(self, name: str) -> dict:
        """Every value for a one-sampler run; a field `name` lacks is refused later with the allowed list."""
        other = sorted(set(self.scoped) - {name})
        if other:
            raise click.UsageError(
                f"{_scoped_option(other[0])} sets the {other[0]} sampler's steps; this run uses {name}"
            )
        return {**self.given, **self.scoped.get(name, {})}

    def check_used(self, names: list[str]) -> None:
        """Refuse a value that none of the samplers `names` of a run reads (it would be ignored)."""
        from ..samplers.config import option_name, setting_names
        from ..samplers.configs import config_class

        known = {f for n in set(names) for f in setting_names(config_class(n))}
        unused = [option_name(k) for k in self.given if k not in known]
        unused += [_scoped_option(s) for s in self.scoped if s not in names]
        if unused:
            raise click.UsageError(f"{', '.join(unused)} applies to none of the samplers run ({', '.join(names)})")


def _scoped_option(sampler: str) -> str:
    return next(opt for opt, (s, _) in SCOPED.items() if s == sampler)


def sampler_settings(
    samplers: tuple[str, ...] | Callable[[], tuple[str, ...]] | None = None,
    default_note: str = "the preset's",
    old_spellings: bool = False,
) -> Callable:
    """Decorator: the settings options of `samplers` (None: every registered sampler; a callable: read when
    the options are made), collapsed into the
    command's `settings` argument (a SettingsChoice). `default_note` is what an option left out means;
    `old_spellings` adds the hidden deprecated SCOPED options (commands that had them)."""

    def decorate(f: Callable) -> Callable:
        names: list[str] = []

        def factory() -> list[click.Parameter]:
            params = setting_options(samplers, default_note, old_spellings)
            names.extend(p.name for p in params)
            return params

        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            given = {k: kwargs.pop(k) for k in list(kwargs) if k in names}
            scoped: dict[str, dict] = {}
            for option, (sampler, name) in SCOPED.items():
                value = given.pop(_dest(option), None)
                if value is not None:
                    click.echo(f"warning: {option} is deprecated and will be removed; use --steps", err=True)
                    scoped.setdefault(sampler, {})[name] = value
            choice = SettingsChoice({k: v for k, v in given.items() if v is not None}, scoped)
            return f(*args, settings=choice, **kwargs)

        setattr(wrapper, LAZY_PARAMS, factory)
        return wrapper

    return decorate


def _dest(option: str) -> str:
    return "scoped_" + option.lstrip("-").replace("-", "_")


def setting_options(
    samplers: tuple[str, ...] | Callable[[], tuple[str, ...]] | None = None,
    default_note: str = "the preset's",
    old_spellings: bool = False,
) -> list[click.Option]:
    """One click option per distinct config field of `samplers`, then the hidden deprecated spellings.

    A field several samplers share must have one type in all of them (it means one thing: the naming
    rule of `lavps.samplers.config`); its help names the samplers that have it.
    """
    from ..samplers.config import option_name, setting_help
    from ..samplers.configs import CONFIGS

    chosen = list(CONFIGS) if samplers is None else list(samplers() if callable(samplers) else samplers)
    owners: dict[str, list[str]] = {}
    first: dict[str, Any] = {}  # field -> its type (the same in every config that has it)
    for name in chosen:
        config = CONFIGS[name]
        hints = typing.get_type_hints(config)
        for f in fields(config):
            hint = hints[f.name]
            if f.name in first and first[f.name] != hint:
                raise TypeError(f"setting {f.name} has type {hint} in {name} but {first[f.name]} elsewhere")
            first.setdefault(f.name, hint)
            owners.setdefault(f.name, []).append(name)
    params = []
    for key, hint in first.items():
        helps: dict[str, list[str]] = {}  # one text per distinct documentation, with the samplers it is from
        for name in owners[key]:
            helps.setdefault(setting_help(CONFIGS[name], key), []).append(name)
        help_text = " ".join(f"{', '.join(names)}: {text}" for text, names in helps.items())
        kind = _click_type(hint)
        decl = option_name(key)
        common = dict(default=None, show_default=default_note, help=help_text)
        if kind is bool:
            params.append(click.Option([f"{decl}/--no-{decl[2:]}", key], **common))
        elif isinstance(kind, tuple):
            params.append(ListOption([decl, key], item_type=kind[0], **common))
        else:
            params.append(click.Option([decl, key], type=kind, **common))
    for option, (sampler, _) in SCOPED.items():
        if old_spellings and sampler in chosen:
            params.append(click.Option([option, _dest(option)], type=int, default=None, hidden=True))
    return params


def _click_type(hint: Any):
    """The click type of a field annotation: bool (a flag pair), (item type,) for a tuple, else a ParamType."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in args if a is not type(None)]
        return _click_type(inner)
    if origin is Literal:
        return click.Choice(list(args))
    if origin is tuple:
        return (_click_type(args[0]),)
    if hint is bool:
        return bool
    if hint is float:
        return FiniteFloat()
    if hint is int:
        return click.INT
    return click.STRING
