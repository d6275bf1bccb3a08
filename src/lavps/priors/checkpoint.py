"""Safetensors files with a JSON header: the only checkpoint format lavps reads or writes.

A file holds named tensors plus string metadata; `save_tensors` stores a JSON object under the key
"lavps" in that metadata. Reading never executes code (no pickle). Every failure raises a
`FileNotFoundError` or `ValueError` that names the file and the problem.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

__all__ = ["save_tensors", "load_tensors", "read_header"]

_KEY = "lavps"


def save_tensors(path: str | Path, tensors: dict[str, torch.Tensor], header: dict) -> None:
    """Write tensors and a JSON-serialisable header atomically (temp file then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    flat = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    save_file(flat, str(tmp), metadata={_KEY: json.dumps(header, sort_keys=True)})
    os.chmod(tmp, 0o644)  # safetensors creates 0600 files; checkpoints are meant to be shared
    os.replace(tmp, path)


def _open(path: Path):
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint file not found: {path}")
    try:
        return safe_open(str(path), framework="pt")
    except Exception as e:  # safetensors raises its own error types for a bad header or size
        raise ValueError(f"{path} is not a readable safetensors file ({type(e).__name__}: {e})") from None


def read_header(path: str | Path, kind: str | None = None) -> dict:
    """The JSON header of a lavps safetensors file; checks header["kind"] when kind is given."""
    path = Path(path)
    with _open(path) as f:
        meta = f.metadata() or {}
    if _KEY not in meta:
        raise ValueError(f"{path} has no lavps metadata (expected a {kind or 'lavps'} file written by lavps)")
    try:
        header = json.loads(meta[_KEY])
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} has corrupt lavps metadata: {e}") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path} has lavps metadata that is not a JSON object")
    if kind is not None and header.get("kind") != kind:
        raise ValueError(f"{path} holds a {header.get('kind')!r}, expected a {kind!r}")
    return header


def load_tensors(path: str | Path, kind: str | None = None) -> tuple[dict[str, torch.Tensor], dict]:
    """All tensors of a lavps safetensors file and its header (see `read_header`)."""
    path = Path(path)
    header = read_header(path, kind)
    try:
        with _open(path) as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as e:
        raise ValueError(f"{path}: cannot read tensors ({type(e).__name__}: {e})") from None
    return tensors, header
