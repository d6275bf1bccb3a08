"""The one way lavps writes a JSON file: strict JSON, written whole or not at all."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

__all__ = ["write_json"]


def write_json(path: str | Path, payload: dict, sort_keys: bool = False) -> None:
    """Write `payload` to `path` as indented JSON.

    Written to a temporary name first and then renamed: an interrupted run never leaves a half-written
    file. Strict JSON: a missing float (nan, e.g. the interval of a single value, or inf) is written as
    null, so every JSON parser reads the file; objects JSON does not know (paths, dtypes) as their str().
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    text = json.dumps(_nan_to_null(payload), indent=2, sort_keys=sort_keys, allow_nan=False, default=str)
    tmp.write_text(text + "\n")
    os.replace(tmp, path)


def _nan_to_null(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_null(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_nan_to_null(v) for v in value]
    return value
