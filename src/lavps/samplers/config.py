"""The base of every sampler's settings: a frozen dataclass with typed, documented, validated fields.

Each sampler module defines its config next to the sampler (e.g. `DDRMConfig` in samplers/ddrm.py) as a
subclass of `SamplerConfig` whose fields are made with `setting(default, help)`. The help text is the
field's documentation: the CLI options of sampler settings are generated from it (`lavps.cli.settings`,
field `adam_out` -> option `--adam-out`), so a new field appears on every command without touching the
CLI. Values are checked against the field's type when the config is made (an int field refuses 2.5 and
"3", a bool field refuses "true", a tuple field takes a list or tuple of its items), then against the
config's `check()` rules; every error names the setting, its option, what is allowed and the value.

Naming rule: a field that several samplers share means the same thing in each (`steps`: the grid size,
i.e. the denoiser calls); a sampler's own knob whose plain name another sampler uses differently
carries the sampler's prefix (`ddrm_eta`, `diffpir_zeta`, `dps_zeta`). Torch-free.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import types
import typing
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

__all__ = [
    "SamplerConfig",
    "setting",
    "option_name",
    "canonical_names",
    "make_config",
    "setting_help",
    "setting_names",
]


def setting(default: Any, help: str) -> Any:
    """A config field with its default and its one-line documentation (shown by `--help`)."""
    return dataclasses.field(default=default, metadata={"help": help})


def option_name(field_name: str) -> str:
    """The CLI option of a setting: `adam_out` -> `--adam-out` (the one naming rule)."""
    return "--" + field_name.replace("_", "-")


def setting_names(cls: type[SamplerConfig]) -> tuple[str, ...]:
    """The field names of a config class, in declaration order."""
    return tuple(f.name for f in dataclasses.fields(cls))


def setting_help(cls: type[SamplerConfig], name: str) -> str:
    """The documentation of field `name` of a config class."""
    return next(f.metadata.get("help", "") for f in dataclasses.fields(cls) if f.name == name)


@dataclass(frozen=True)
class SamplerConfig:
    """Base class: type checks every field, then runs `check()` (the ranges of the subclass).

    Class attributes: `label`, the sampler's registry name (for messages); `renamed`, old setting
    names still accepted for one release by `make_config` ({old: new}); `restores`, `implementation` (see below).
    """

    label: ClassVar[str] = "sampler"
    renamed: ClassVar[dict[str, str]] = {}
    #: the sampler restores one observation with `lavps restore` / `lavps.restore` (False: a prior sampler
    #: or a baseline that needs a network of its own; those run in `lavps bench gmm` only)
    restores: ClassVar[bool] = True
    #: the sampler class that runs this config, "module:Class" inside lavps.samplers (the registry imports it;
    #: a string keeps the configs free of torch). Every registered config names it in its own body: a
    #: subclass never inherits its parent's sampler (DPSConfig extends DDIMConfig, not DDIM).
    implementation: ClassVar[str] = ""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, self._typed(f.name, getattr(self, f.name), hints[f.name]))
        self.check()

    def check(self) -> None:
        """Range rules of the subclass (raise with `self.refuse`)."""

    def refuse(self, name: str, rule: str) -> None:
        """Raise the one error message of a setting outside its rule."""
        raise ValueError(
            f"{self.label} setting {name} ({option_name(name)}) must be {rule}, got {getattr(self, name)!r}"
        )

    def require(self, name: str, ok: bool, rule: str) -> None:
        if not ok:
            self.refuse(name, rule)

    def _typed(self, name: str, value: Any, hint: Any) -> Any:
        try:
            return _coerce(value, hint)
        except (TypeError, ValueError):
            raise ValueError(
                f"{self.label} setting {name} ({option_name(name)}) must be {_describe(hint)}, got {value!r}"
            ) from None


def _coerce(value: Any, hint: Any) -> Any:
    """`value` as type `hint` (int, float, bool, str, Literal, tuple[X, ...], X | None); raises if it is not."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _coerce(value, inner)
    if origin is Literal:
        if isinstance(value, str) and value in args:
            return value
        raise ValueError(value)
    if origin is tuple:
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise TypeError(value)  # never a comma string
        return tuple(_coerce(v, args[0]) for v in value)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise TypeError(value)
    if hint is int:
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return int(value)
        raise TypeError(value)
    if hint is float:
        if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(float(value)):
            return float(value)
        raise TypeError(value)
    if hint is str:
        if isinstance(value, str):
            return value
        raise TypeError(value)
    raise TypeError(f"unsupported setting type {hint!r}")


def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        (inner,) = [a for a in args if a is not type(None)]
        return f"{_describe(inner)} or None"
    if origin is Literal:
        return "one of " + ", ".join(map(repr, args))
    if origin is tuple:
        return f"a list of {_describe(args[0])}"
    words = {bool: "true or false (a bool)", int: "an integer", float: "a finite number", str: "a string"}
    return words.get(hint, str(hint))


def canonical_names(cls: type[SamplerConfig], values: Mapping) -> dict:
    """`values` with the old names of `cls.renamed` replaced by the new ones (a DeprecationWarning each)."""
    given = dict(values)
    for old, new in cls.renamed.items():
        if old in given:
            if new in given:
                raise ValueError(f"give the {cls.label} setting {new!r} only (its old name {old!r} too is ambiguous)")
            warnings.warn(f"setting {old!r} is deprecated and will be removed; use {new!r}", DeprecationWarning, 3)
            given[new] = given.pop(old)
    return given


def make_config(cls: type[SamplerConfig], values: SamplerConfig | Mapping | None = None, base=None):
    """A `cls` from a config of that class, or from a dict of field names over `base` (default: cls()).

    Old names in `cls.renamed` are accepted with a DeprecationWarning; any other unknown name is refused
    with the allowed list.
    """
    if type(values) is cls:
        return values
    if isinstance(values, SamplerConfig):
        raise TypeError(f"sampler {cls.label!r} takes a {cls.__name__}, got a {type(values).__name__}")
    if values is not None and not isinstance(values, Mapping):
        raise TypeError(f"settings must be a {cls.__name__} or a dict of its fields, got {type(values).__name__}")
    given = canonical_names(cls, values or {})
    allowed = setting_names(cls)
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise ValueError(
            f"sampler {cls.label!r} has no setting(s) {', '.join(map(str, unknown))}; allowed: {', '.join(allowed)}"
        )
    return dataclasses.replace(base if base is not None else cls(), **given)
