"""torch.distributed plumbing for training and folder restoration (torchrun, gloo on CPU, NCCL on GPU).

One process per rank; `init_from_env` joins the process group that torchrun describes in the
environment (WORLD_SIZE, RANK, MASTER_ADDR, ...). Without torchrun everything runs as rank 0 of 1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["World", "init_from_env", "current_world", "all_mean", "broadcast_object", "barrier"]


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
    dist.all_reduce(t)
    return {k: float(v) / world.size for k, v in zip(keys, t.tolist(), strict=True)}


def broadcast_object(obj, world: World):
    """Rank 0's `obj` on every rank."""
    if world.size == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def barrier(world: World) -> None:
    if world.size > 1:
        dist.barrier()
