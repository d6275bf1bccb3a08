"""The ONE resumable training loop of lavps (image prior, amortizer, supervised baseline).

A step of the global batch B is split into K = `micro_batches` chunks of B / K samples. Chunk c of
step s draws all its randomness from its own generator, seeded by (seed, s, c) (`chunk_seed`), and
(when the run reads a data set) receives the data items of global positions s B + c B/K ... in the
run's per-epoch permutation (`lavps.data.folder.StepSampler`). Nothing depends on the number of
processes: with W ranks (torchrun, W dividing K) rank r takes chunks r K/W ... (r+1) K/W - 1 and
accumulates their gradients; DDP averages over ranks, so the update is

    grad = (1/K) sum_c grad L_c        (L_c: the mean loss of chunk c)

whatever W is (up to floating-point summation order). Hence a run can be resumed at any world size.
bf16 autocast (`precision`), gradient clipping, AdamW with linear warm-up, optional EMA of the
weights, a progress bar, validation every `val_every` steps with early stopping on a validation
metric, a JSON-lines metrics file and atomic checkpoints written by rank 0 only (temp file then
os.replace; the file itself is `lavps.training.state`) live here and nowhere else. A checkpoint restores
weights, EMA, optimizer, history, counters and the early-stopping state: a resumed run takes exactly the
steps of the uninterrupted one.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from ..distributed import World, all_mean, barrier, broadcast_object, current_world
from ..random import derive_seed
from .state import CHECKPOINT_KIND, LoopState, config_json, restore_state, save_state

__all__ = [
    "LoopSettings",
    "Chunk",
    "LoopState",
    "StepFn",
    "DataFactory",
    "Validation",
    "run_loop",
    "chunk_seed",
    "config_json",
    "PRECISIONS",
    "CHECKPOINT_KIND",
]

PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class LoopSettings:
    """The optimisation settings block every training run shares (the configs of the prior, amortizer
    and supervised runs extend it with their own fields and defaults; `run_loop` reads only these).

    Attributes:
        steps: total optimizer steps; batch_size: the GLOBAL batch B (all ranks, all micro-batches).
        lr, weight_decay, grad_clip: AdamW's learning rate and weight decay; gradient norm clipping (0: off).
        seed: the run's seed (initial weights and every chunk's randomness).
        micro_batches: K chunks per step (gradient accumulation); the run's randomness is defined per
            chunk, so K (not the world size) is part of the run's identity. W ranks need W | K.
        warmup: linear learning-rate warm-up steps (0: none); ema_decay: None = no EMA.
        precision: "fp32" or "bf16" (autocast of the forward passes; weights stay float32).
        ckpt_every: checkpoint interval in steps.
        val_every, patience: validate every N steps (0: never); stop after `patience` validations
            without improvement of the monitored metric (0: never stop early).
    """

    steps: int
    batch_size: int
    lr: float
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    seed: int = 0
    micro_batches: int = 1
    warmup: int = 0
    ema_decay: float | None = None
    precision: str = "fp32"
    ckpt_every: int = 100
    val_every: int = 0
    patience: int = 0

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "micro_batches", "ckpt_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size % self.micro_batches:
            raise ValueError(f"batch size {self.batch_size} is not divisible by --grad-accum {self.micro_batches}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"unknown precision {self.precision!r}; allowed: {', '.join(PRECISIONS)}")
        if self.ema_decay is not None and not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if not (self.lr > 0 and self.weight_decay >= 0 and self.grad_clip >= 0):
            raise ValueError(
                f"need lr > 0, weight_decay >= 0, grad_clip >= 0, got {self.lr}, {self.weight_decay}, {self.grad_clip}"
            )
        if min(self.warmup, self.val_every, self.patience) < 0:
            raise ValueError("warmup, val_every and patience must be >= 0")

    @property
    def chunk_size(self) -> int:
        return self.batch_size // self.micro_batches


@dataclass(frozen=True)
class Chunk:
    """One micro-batch: `size` samples, chunk `index` of step `step`, its generator and its data (or None)."""

    step: int
    index: int
    size: int
    generator: torch.Generator
    data: Any = None


#: step_fn(network, chunk) -> (mean loss of the chunk, extra scalar metrics)
StepFn = Callable[[nn.Module, Chunk], tuple[torch.Tensor, dict[str, float]]]
#: data_factory(start_step, chunks of this rank per step) -> iterator over this rank's chunk data, in order
DataFactory = Callable[[int, range], Iterator[Any]]


@dataclass(frozen=True)
class Validation:
    """Called on rank 0 every `val_every` steps: fn(network) -> metrics; `monitor` is minimised."""

    fn: Callable[[nn.Module], dict[str, float]]
    monitor: str


def chunk_seed(seed: int, step: int, chunk: int) -> int:
    """A 63-bit seed for chunk `chunk` of step `step` of a run seeded `seed` (numpy SeedSequence mixing)."""
    return derive_seed(seed, step, chunk)


class _StepModule(nn.Module):
    """Makes `step_fn(net, chunk)` the forward of a module, so DDP sees (and syncs) every backward."""

    def __init__(self, net: nn.Module, step_fn: StepFn):
        super().__init__()
        self.net, self.step_fn = net, step_fn

    def forward(self, chunk: Chunk):
        return self.step_fn(self.net, chunk)


def run_loop(
    settings: LoopSettings,
    build: Callable[[], nn.Module],
    step_fn: StepFn,
    checkpoint: Path,
    identity: dict,
    resumable: set[str] = frozenset(),
    resume: bool = False,
    progress: bool = True,
    data: DataFactory | None = None,
    validation: Validation | None = None,
    metrics_path: Path | None = None,
) -> LoopState:
    """Train `build()` with `step_fn` up to settings.steps (or early stopping); returns the final state.

    Args:
        build: the network with its initial weights (called under a fork of the RNG seeded by settings.seed).
        identity: JSON description of the run (config, network, info); a resumed checkpoint must
            agree on every key except the top-level `config` entries named in `resumable`.
        resume: continue `checkpoint` (an error if there is none); without it an existing checkpoint is an error.
        data: see `DataFactory`; None: step_fn draws its own data from the chunk generator.
        metrics_path: JSON lines, one per checkpoint or validation (rank 0 writes it).
    """
    world = current_world()
    k = settings.micro_batches
    if k % world.size:
        raise ValueError(
            f"the {k} micro-batches per step (--grad-accum) cannot be split over {world.size} processes; "
            f"use a multiple of {world.size}"
        )
    identity = json.loads(json.dumps(identity))  # as it will be saved
    if checkpoint.exists() and not resume:
        raise ValueError(f"{checkpoint} exists; resume it (--resume) or choose another output folder")
    if resume and not checkpoint.exists():
        raise FileNotFoundError(f"cannot resume: no checkpoint {checkpoint} (drop --resume to start a new run)")
    state = _new_state(settings, build)
    if resume and checkpoint.exists():
        state = restore_state(checkpoint, settings, identity, resumable, state)
    if metrics_path is not None and world.is_main:
        _truncate_metrics(metrics_path, state.step)
    mine = range(world.rank * k // world.size, (world.rank + 1) * k // world.size)
    model = _StepModule(state.net, step_fn)
    if world.size > 1:
        model = nn.parallel.DistributedDataParallel(model)
    items = data(state.step, mine) if data is not None else None
    state.net.train()
    avg: dict[str, float] = {}  # moving averages (0.98) of the history, rebuilt from it on resume
    for key, values in state.history.items():
        for v in values:
            avg[key] = v if key not in avg else 0.98 * avg[key] + 0.02 * v
    bar = tqdm(total=settings.steps, initial=min(state.step, settings.steps), disable=not (progress and world.is_main))
    bar.set_description(f"training {checkpoint.stem.removesuffix('_checkpoint')} (iterations)")
    while state.step < settings.steps and not state.stopped_early:
        start = time.perf_counter()
        metrics = _optimizer_step(settings, state, model, mine, items, world)
        state.step += 1
        _update_ema(settings, state)
        state.wall_time += time.perf_counter() - start
        for key, v in metrics.items():
            state.history.setdefault(key, []).append(v)
            avg[key] = v if key not in avg else 0.98 * avg[key] + 0.02 * v
        loss = metrics["loss"]
        if not math.isfinite(loss):
            raise RuntimeError(f"training diverged at step {state.step} (loss {loss}); lower --lr")
        state.loss_weight = 0.98 * state.loss_weight + 0.02
        state.loss_avg += (loss - state.loss_avg) * 0.02 / state.loss_weight
        record = None
        if validation is not None and settings.val_every and state.step % settings.val_every == 0:
            record = _validate(settings, state, validation, world)
        bar.set_postfix({k_: f"{v:.4g}" for k_, v in {**avg, **state.last_validation}.items()}, refresh=False)
        bar.update(1)
        done = state.step == settings.steps or state.stopped_early
        if state.step % settings.ckpt_every == 0 or done or record is not None:
            if world.is_main:
                if state.step % settings.ckpt_every == 0 or done:
                    save_state(checkpoint, identity, settings, state)
                if metrics_path is not None:
                    row = {"step": state.step, **{f"train_{k_}": v for k_, v in avg.items()}, **(record or {})}
                    _append_jsonl(metrics_path, row)
    bar.close()
    if world.is_main and not checkpoint.exists():
        save_state(checkpoint, identity, settings, state)
    barrier(world)
    return state


def _optimizer_step(settings, state: LoopState, model, mine: range, items, world: World) -> dict[str, float]:
    for g in state.opt.param_groups:
        g["lr"] = settings.lr * (min(1.0, (state.step + 1) / settings.warmup) if settings.warmup else 1.0)
    state.opt.zero_grad(set_to_none=True)
    scale = world.size / settings.micro_batches  # DDP averages over ranks: total = (1/K) sum_c grad L_c
    sums: dict[str, float] = {}
    autocast = torch.autocast(next(state.net.parameters()).device.type, dtype=torch.bfloat16)
    for i, c in enumerate(mine):
        gen = torch.Generator().manual_seed(chunk_seed(settings.seed, state.step, c))
        chunk = Chunk(state.step, c, settings.chunk_size, gen, next(items) if items is not None else None)
        last = i == len(mine) - 1
        sync = contextlib.nullcontext() if last or world.size == 1 else model.no_sync()
        with sync:
            with autocast if settings.precision == "bf16" else contextlib.nullcontext():
                loss, extra = model(chunk)
            (loss.float() * scale).backward()
        for key, v in {"loss": float(loss.detach()), **extra}.items():
            sums[key] = sums.get(key, 0.0) + v / len(mine)
    if settings.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(state.net.parameters(), settings.grad_clip)
    state.opt.step()
    return all_mean(sums, world)


def _update_ema(settings: LoopSettings, state: LoopState) -> None:
    if state.ema is None:
        return
    decay = min(settings.ema_decay, (1 + state.step) / (10 + state.step))  # EMA warm-up for short runs
    with torch.no_grad():
        for name, v in state.net.state_dict().items():
            if v.is_floating_point():
                state.ema[name].lerp_(v, 1.0 - decay)
            else:
                state.ema[name].copy_(v)


def _validate(settings, state: LoopState, validation: Validation, world: World) -> dict[str, float]:
    record = None
    if world.is_main:
        state.net.eval()
        values = validation.fn(state.net)  # it decides where gradients are needed (LAVPS needs input gradients)
        state.net.train()
        value = values[validation.monitor]
        improved = value < state.best
        state.best = min(state.best, value)
        state.bad_validations = 0 if improved else state.bad_validations + 1
        stop = bool(settings.patience and state.bad_validations >= settings.patience)
        record = {"values": values, "best": state.best, "bad": state.bad_validations, "stop": stop}
    record = broadcast_object(record, world)
    state.best, state.bad_validations, state.stopped_early = record["best"], record["bad"], record["stop"]
    state.last_validation = record["values"]
    return {**record["values"], "best": record["best"], "stopped_early": record["stop"]}


def _new_state(settings: LoopSettings, build: Callable[[], nn.Module]) -> LoopState:
    with torch.random.fork_rng(devices=[]):  # seeded initial weights; the caller's global RNG untouched
        torch.manual_seed(settings.seed)
        net = build()
    opt = torch.optim.AdamW(net.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    ema = None if settings.ema_decay is None else {k: v.detach().clone() for k, v in net.state_dict().items()}
    return LoopState(net=net, opt=opt, ema=ema)


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop metrics rows past the checkpoint a run resumes from (they are recomputed)."""
    if not path.exists():
        return
    rows = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line)["step"] <= step]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(r + "\n" for r in rows))
    tmp.replace(path)


def _append_jsonl(path: Path, row: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(row, sort_keys=True) + "\n")
