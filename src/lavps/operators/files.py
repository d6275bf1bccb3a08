"""Operator files: one operator as a safetensors file (`lavps degrade` writes them, `--operator-file` reads them).

The metadata holds {format: "lavps-operator", version, image_shape, kind, family (when known)} plus the
class's own strings; the tensors are the class's. Version 2 stores them as one sorted JSON string under the key
"lavps-operator" (safetensors keeps metadata in a hash map: several keys came out in another order on every run,
so identical operators gave different files); version 1 files (one key per entry) still load. What a linear
operator stores is up to its class (`saved_kind`, `saved_state`, `from_saved` on
`lavps.operators.base.LinearOperator`), so a new saveable operator changes only its own module. A deterministic
non-linear measurement drawn from a spec (jpeg, phase, hdr) is its spec: kind "family", rebuilt by
`draw_operator`. Loading never executes code.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from . import basic, blur, resize  # noqa: F401  (their classes register their file kinds)
from .base import SAVED_KINDS
from .basic import Mask
from .measurement import Measurement
from .spec import draw_operator
from .user_files import hidden_box

__all__ = ["save_operator", "load_operator"]

#: the one metadata key of a version-2 operator file
FORMAT_KEY = "lavps-operator"


def save_operator(op: Measurement, path: str | Path) -> None:
    """Save an operator whose class has a file kind (blur, mask, sr, identity), or a shared non-linear
    measurement drawn from a spec, as a safetensors file."""
    kind = getattr(type(op), "saved_kind", None)
    extra, tensors = op.saved_state() if kind is not None else ({}, {})
    if kind is None and not op.is_linear and op.family is not None and op.batch_size is None:
        kind = "family"  # a deterministic non-linear spec (jpeg, phase, hdr): its spec is the operator
    if kind is None:
        raise TypeError(
            f"cannot save operators of type {type(op).__name__} ({', '.join(SAVED_KINDS)}, or a shared map drawn "
            "from a jpeg / phase / hdr spec)"
        )
    meta = {"format": "lavps-operator", "version": "2", "image_shape": json.dumps(list(op.in_shape))}
    meta.update(kind=kind, **extra)
    if op.family is not None:
        meta["family"] = op.family
    save_file(tensors, str(path), metadata={FORMAT_KEY: json.dumps(meta, sort_keys=True)})  # one key: same bytes


def load_operator(path: str | Path) -> Measurement:
    """Load an operator written by `save_operator` (no code is executed)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"operator file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            meta = json.loads(meta[FORMAT_KEY]) if FORMAT_KEY in meta else meta  # version 2, else version 1
            tensors: dict[str, torch.Tensor] = {key: f.get_tensor(key) for key in f.keys()}
        if meta.get("format") != "lavps-operator":
            raise ValueError("not a lavps operator file")
        shape = tuple(json.loads(meta["image_shape"]))
        kind = meta["kind"]
        if kind == "family":
            op = draw_operator(meta["family"], shape)
        elif kind in SAVED_KINDS:
            op = SAVED_KINDS[kind].from_saved(shape, meta, tensors)
        else:
            raise ValueError(f"unknown operator kind {kind!r}")
    except Exception as err:  # safetensors raises its own error type for corrupt files
        raise ValueError(f"cannot load operator from {path}: {err}") from None
    op.family = meta.get("family")  # files written before the tag existed: unknown
    if op.family is None and isinstance(op, Mask):  # an untagged mask that hides one box is that box
        op.family = hidden_box(op)
    return op
