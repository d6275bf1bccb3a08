"""Type and range checks for the values in architecture files that users write (HDiT CONFIG.json, ADM
FLAGS.json). A bad value raises a ValueError that names the file and the key. Without these checks it
would surface later as a ZeroDivisionError or TypeError from inside the network's constructor.

`where` is the file's path, or a phrase such as "HDiT config" when the values come from Python.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["check_int", "check_ints", "check_number", "check_bool", "check_choice"]


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # JSON true is not the integer 1


def check_int(where: str, key: str, value, minimum: int, also: tuple[int, ...] = ()) -> int:
    """`value` if it is an integer >= minimum (or one of `also`, e.g. -1 for "unset")."""
    if _is_int(value) and (value >= minimum or value in also):
        return value
    wanted = " or ".join([*(str(a) for a in also), f"an integer >= {minimum}"])
    raise ValueError(f"{where}: {key} must be {wanted}, got {value!r}")


def check_ints(where: str, key: str, value, minimum: int) -> tuple[int, ...]:
    """`value` as a tuple if it is a non-empty list of integers >= minimum."""
    if isinstance(value, (list, tuple)) and value and all(_is_int(v) and v >= minimum for v in value):
        return tuple(value)
    raise ValueError(f"{where}: {key} must be a non-empty list of integers >= {minimum}, got {value!r}")


def check_number(where: str, key: str, value, wanted: str, ok: Callable[[float], bool]) -> float:
    """`value` as a float if it is a finite number for which ok(value) holds; `wanted` words the range."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and ok(value):
        return float(value)
    raise ValueError(f"{where}: {key} must be {wanted}, got {value!r}")


def check_bool(where: str, key: str, value) -> bool:
    if isinstance(value, bool):
        return value
    raise ValueError(f"{where}: {key} must be true or false, got {value!r}")


def check_choice(where: str, key: str, value, allowed: tuple[str, ...]) -> str:
    if isinstance(value, str) and value in allowed:
        return value
    raise ValueError(f"{where}: {key} must be one of {', '.join(allowed)}, got {value!r}")
