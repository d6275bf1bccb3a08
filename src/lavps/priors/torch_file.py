"""Reading a torch .pt / .bin file of tensors without running code (`torch.load(weights_only=True)`).

Torch's own error for a file holding Python objects advises re-running with weights_only=False, i.e.
running the file's code. lavps never passes that advice on, and it says plainly when a file is not a
torch file at all.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch

__all__ = ["load_plain_tensors"]

#: how a torch file starts: a zip archive (torch >= 1.6) or a pickle (the legacy format, protocol 2)
_MAGIC = (b"PK\x03\x04", b"\x80")


def load_plain_tensors(path: Path, what: str = "tensor checkpoint"):
    """The containers and tensors of a torch file; a ValueError naming the file for anything else.

    `what` names what the file should be in the message for a file holding Python objects.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise ValueError(f"{path} cannot be read ({e})") from None
    if not head.startswith(_MAGIC):
        raise ValueError(f"{path} is not a torch or safetensors file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # Python objects beyond plain tensors and containers
        raise ValueError(f"{path} is not a plain {what} (lavps never unpickles Python objects)") from None
    except Exception as e:  # a truncated or corrupt archive
        first = str(e).strip().splitlines()[0][:200] if str(e).strip() else "no details"
        raise ValueError(f"{path} is not a readable torch checkpoint ({type(e).__name__}: {first})") from None
