"""Lazy package attributes (PEP 562): a package names what it exports and the submodule each comes from, and
imports that submodule on first use, so that torch-free submodules stay readable without loading torch."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from importlib.util import find_spec

__all__ = ["lazy_attributes"]


def lazy_attributes(package: str, where: Mapping[str, str]) -> Callable[[str], object]:
    """The module `__getattr__` of `package`: `name` is `getattr(package.<where[name]>, name)`, imported then;
    a submodule's name is that submodule, imported then (as an eager package that imported it would have it)."""

    def __getattr__(name: str):
        if name in where:
            return getattr(import_module(f".{where[name]}", package), name)
        if not name.startswith("_") and find_spec(f"{package}.{name}") is not None:
            return import_module(f".{name}", package)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
