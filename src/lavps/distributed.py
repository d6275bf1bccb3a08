"""torch.distributed plumbing for training and folder restoration (torchrun, gloo on CPU, NCCL on GPU).

One process per rank; `init_from_env` joins the process group that torchrun describes in the
environment (WORLD_SIZE, RANK, MASTER_ADDR, ...). Without torchrun everything runs as rank 0 of 1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = [
    "World",
    "PeerLost",
    "init_from_env",
    "current_world",
    "all_mean",
    "broadcast_object",
    "barrier",
    "is_peer_loss",
    "lost_connection",
]

#: what gloo's errors say when a peer process is gone (plain RuntimeErrors)
_LOST_CONNECTION = ("Connection closed by peer", "Connection reset by peer", "remote worker crashing")
#: ... and what a failed collective may say besides (gloo's transport, NCCL's process group)
_PEER_SIGNS = (
    *_LOST_CONNECTION,
    "gloo/transport",
    "ProcessGroupNCCL",
    "NCCL communicator was aborted",
)


class PeerLost(RuntimeError):
    """A collective operation failed: another rank stopped (its own error is that rank's to report)."""


def lost_connection(error: BaseException) -> bool:
    """Whether `error` says a peer's connection was lost (the peer exited): nothing of this rank's own to say."""
    return any(sign in str(error) for sign in _LOST_CONNECTION)


def is_peer_loss(error: BaseException) -> bool:
    """Whether `error` is a collective/communication failure (another rank exited, crashed or was killed)
    rather than a failure of this rank's own: a `PeerLost`, a torch.distributed error, or gloo's or NCCL's
    RuntimeError naming a lost connection (raised inside DDP's own collectives)."""
    if isinstance(error, PeerLost) or isinstance(error, getattr(dist, "DistError", ())):
        return True
    return isinstance(error, RuntimeError) and any(sign in str(error) for sign in _PEER_SIGNS)


@dataclass(frozen=True)
class World:
    """rank of this process among `size` processes (size 1: not distributed)."""

    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_from_env() -> World:
    """Join the process group torchrun set up (gloo for CPU tensors, NCCL for CUDA ones); no-op outside torchrun."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size > 1 and not dist.is_initialized():
        dist.init_process_group("cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo")
    return current_world()


def current_world() -> World:
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size())
    return World()


def all_mean(values: dict[str, float], world: World) -> dict[str, float]:
    """Mean over ranks of per-rank scalars (same keys on every rank), in float64."""
    if world.size == 1 or not values:
        return dict(values)
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64)
    _collective(dist.all_reduce, t)
    return {k: float(v) / world.size for k, v in zip(keys, t.tolist(), strict=True)}


def broadcast_object(obj, world: World):
    """Rank 0's `obj` on every rank."""
    if world.size == 1:
        return obj
    box = [obj]
    _collective(dist.broadcast_object_list, box, src=0)
    return box[0]


def barrier(world: World) -> None:
    if world.size > 1:
        _collective(dist.barrier)


def _collective(op, *args, **kwargs):
    # these collectives only fail when the process group does: another rank is gone
    try:
        return op(*args, **kwargs)
    except RuntimeError as e:
        if isinstance(e, PeerLost):
            raise
        raise PeerLost(f"another rank stopped during {op.__name__} ({' '.join(str(e).split())[:200]})") from e
