"""Exact-posterior benchmark on the Gaussian-mixture prior: SW to exact posterior samples per sampler.

Each (dim, obs_dim, seed) is an independent problem (prior weights, A, x*, y). Rows report the mean
and 95% interval over seeds, seconds per problem and denoiser passes per sample path, framed by the
"exact" floor (two independent exact sample sets) and the "prior" ceiling (exact prior samples).

Beside SW, every row reports its distortion as a PSNR gain over exact posterior samples
(`psnr_gain_db`): 10 log10 of (mean squared distance of exact posterior samples to x*) over (the same
for the row's samples). A perfect sampler scores about 0 dB; a sampler that hugs the posterior mean
scores more (the "posterior mean" row, the MMSE point estimate, is the most any method can get on
average). A positive gain with a large SW is under-dispersion: one-sample PSNR rewards it, SW does not.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from tqdm.auto import tqdm

from ..metrics import sliced_wasserstein
from .gmm_problems import make_gmm_problem
from .stats import format_interval, mean_ci95
from .table import Column, interval, number, text, text_table

__all__ = [
    "GMMBenchConfig",
    "POSTERIOR_MEAN",
    "SamplerEntry",
    "check_samplers",
    "format_table",
    "mean_squared_distance",
    "run_gmm_benchmark",
]

POSTERIOR_MEAN = "posterior mean"


@dataclass(frozen=True)
class SamplerEntry:
    """One row of a benchmark: a label, a registry name and its options (merged over the shared ones)."""

    label: str
    name: str
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class GMMBenchConfig:
    dims: tuple[int, ...] = (8, 80, 800)
    obs_dims: tuple[int, ...] = (1, 2, 4)
    seeds: int = 10
    first_seed: int = 0
    samples: int = 2000
    samplers: tuple[str, ...] = ("dps", "mgdm")
    sigma: float = 1.0
    family: str = "dense"
    #: sampler name -> {config field: value} over that sampler's defaults (every row of that sampler)
    sampler_options: dict = field(default_factory=dict)
    #: trained networks by kind ("amortizer", "supervised"): paths or networks, for the samplers that use them
    networks: dict = field(default_factory=dict)
    sw_directions: int = 100
    workers: int = 1
    #: explicit rows (label, registry name, options); if empty, one row per name in `samplers`
    entries: tuple[SamplerEntry, ...] = ()

    def __post_init__(self) -> None:
        if not self.dims or min(self.dims) < 1:
            raise ValueError(f"dims must be >= 1, got {list(self.dims)}")
        if min(self.obs_dims, default=1) < 1:
            raise ValueError(f"observation dimensions d_y must be >= 1, got {list(self.obs_dims)}")
        if self.family not in ("dense", "mask"):
            raise ValueError(f"unknown problem family {self.family!r}; allowed: dense, mask")
        if self.family == "mask" and max(self.obs_dims, default=0) > min(self.dims):
            raise ValueError(f"mask: d_y = {max(self.obs_dims)} observed coordinates exceed dim = {min(self.dims)}")
        if self.seeds < 1 or self.samples < 2 or self.workers < 1:
            raise ValueError(
                f"need seeds >= 1, samples >= 2, workers >= 1; got {self.seeds}, {self.samples}, {self.workers}"
            )
        if not (math.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"sigma_y must be a finite number > 0, got {self.sigma}")

    def sampler_entries(self) -> tuple[SamplerEntry, ...]:
        if self.entries:
            return self.entries
        return tuple(SamplerEntry(name, name, {}) for name in self.samplers)

    def entry_options(self, entry: SamplerEntry) -> dict:
        """The settings of a row (its sampler's shared ones, then the row's own) and the network it needs."""
        wanted = {"lavps": "amortizer", "amortized-only": "amortizer", "supervised": "supervised"}.get(entry.name)
        network = {wanted: self.networks[wanted]} if wanted in self.networks else {}
        return {**self.sampler_options.get(entry.name, {}), **entry.options, **network}

    def settings_record(self) -> dict:
        """Row label -> every setting of its sampler's config (defaults included), for the JSON."""
        from dataclasses import asdict

        from ..samplers.registry import NETWORKS, make_settings

        out = {}
        for entry in self.sampler_entries():
            values = {k: v for k, v in self.entry_options(entry).items() if k not in NETWORKS}
            out[entry.label] = {"sampler": entry.name, "settings": asdict(make_settings(entry.name, values))}
        return out


#: sampler rows already run once, untimed, in this process (`_evaluate_problem`)
_WARMED: set[str] = set()


def _evaluate_problem(args) -> list[dict]:
    """All rows of one problem (run in a worker: one torch thread each)."""
    config, dim, obs_dim, seed, build = args
    torch.set_num_threads(1)
    gp = make_gmm_problem(dim, obs_dim, seed, config.sigma, config.family)
    g = torch.Generator().manual_seed(seed + 7919)
    reference = gp.posterior.sample(config.samples, g)
    exact_mse = mean_squared_distance(reference, gp.x_star)
    rows = []

    def add(name, samples, seconds, fwd=0, bwd=0, amort=0, sw=True):
        rows.append(
            dict(
                dim=dim,
                obs_dim=obs_dim,
                seed=seed,
                sampler=name,
                sw=sliced_wasserstein(samples, reference, config.sw_directions, seed=seed) if sw else None,
                psnr_gain_db=10 * math.log10(exact_mse / mean_squared_distance(samples, gp.x_star)),
                seconds=seconds,
                denoiser_forwards=fwd,
                denoiser_backwards=bwd,
                amortizer_forwards=amort,
            )
        )

    t0 = time.perf_counter()
    add("exact", gp.posterior.sample(config.samples, g), time.perf_counter() - t0)
    t0 = time.perf_counter()
    add("prior", gp.prior.sample(config.samples, g), time.perf_counter() - t0)
    # a point estimate, not a sampler: no SW; its distortion is the best any method gets on average
    add(POSTERIOR_MEAN, gp.posterior.mean().reshape(1, -1), 0.0, sw=False)
    for entry in config.sampler_entries():
        sampler = build(entry.name, gp.prior, config.entry_options(entry))
        if entry.label not in _WARMED:  # a process's first call of a code path pays one-off set-up (~0.5 s)
            sampler.sample(gp.problem, 1, seed=seed + 104729)  # untimed, so the order of the rows does not matter
            _WARMED.add(entry.label)
        result = sampler.sample(gp.problem, config.samples, seed=seed + 104729)
        c = result.cost
        add(entry.label, result.samples, c.seconds, c.denoiser_forwards, c.denoiser_backwards, c.amortizer_forwards)
    return rows


def mean_squared_distance(samples: torch.Tensor, x_star: torch.Tensor) -> float:
    """Mean over samples of ||x - x*||^2 / d (the distortion behind one-sample PSNR)."""
    diff = samples.reshape(samples.shape[0], -1).double() - x_star.reshape(1, -1).double()
    return float((diff * diff).mean())


def check_samplers(config: GMMBenchConfig, build: Callable) -> None:
    """Build every sampler once per dimension, so bad settings or networks fail before any sampling."""
    for d in config.dims:
        prior = make_gmm_problem(d, config.obs_dims[0] if config.obs_dims else 1, config.first_seed).prior
        for entry in config.sampler_entries():
            build(entry.name, prior, config.entry_options(entry))


def run_gmm_benchmark(
    config: GMMBenchConfig,
    build: Callable,
    progress: bool = True,
    partial_path: Path | None = None,
    desc: str = "bench gmm",
) -> dict:
    """Run every problem and return {"config", "results", "per_problem"}.

    partial_path: if given, every finished problem's rows are appended there as JSON lines, so an
    interrupted run keeps what it measured.

    Args:
        build: build(name, prior, options) -> Sampler (the sampler registry).
    """
    check_samplers(config, build)
    tasks = [
        (config, d, dy, config.first_seed + s, build)
        for d in config.dims
        for dy in config.obs_dims
        for s in range(config.seeds)
    ]
    per_problem: list[dict] = []
    if partial_path is not None:
        partial_path.parent.mkdir(parents=True, exist_ok=True)
        partial_path.write_text("")
    bar = tqdm(total=len(tasks), desc=desc, disable=not progress)

    def keep(rows: list[dict]) -> None:
        per_problem.extend(rows)
        if partial_path is not None:
            with open(partial_path, "a") as f:
                f.writelines(json.dumps(r) + "\n" for r in rows)
        bar.update()

    if config.workers > 1:
        # close() + join(), not the context manager's terminate(): terminated workers skip their exit
        # finalizers, and resource_tracker then warns about the semaphores they registered (a "leak").
        pool = mp.get_context("spawn").Pool(config.workers)
        try:
            for rows in pool.imap_unordered(_evaluate_problem, tasks):
                keep(rows)
            pool.close()
        except BaseException:
            pool.terminate()
            raise
        finally:
            pool.join()
    else:
        threads = torch.get_num_threads()
        try:
            for task in tasks:
                keep(_evaluate_problem(task))
        finally:
            torch.set_num_threads(threads)
    bar.close()
    # workers finish in any order: the rows are kept in the order a single process writes them (stable sort)
    order = {(t[1], t[2], t[3]): i for i, t in enumerate(tasks)}
    per_problem.sort(key=lambda r: order[(r["dim"], r["obs_dim"], r["seed"])])
    record = {**asdict(config), "settings": config.settings_record()}
    return {"config": record, "results": summarise(per_problem, config), "per_problem": per_problem}


def summarise(per_problem: list[dict], config: GMMBenchConfig) -> list[dict]:
    results = []
    names = ["exact", "prior", POSTERIOR_MEAN, *(e.label for e in config.sampler_entries())]
    for d in config.dims:
        for dy in config.obs_dims:
            for name in names:
                rows = [r for r in per_problem if (r["dim"], r["obs_dim"], r["sampler"]) == (d, dy, name)]
                if not rows:
                    continue
                mean, ci = mean_ci95([r["sw"] for r in rows]) if rows[0]["sw"] is not None else (None, None)
                gain, gain_ci = mean_ci95([r["psnr_gain_db"] for r in rows])
                results.append(
                    dict(
                        dim=d,
                        obs_dim=dy,
                        sampler=name,
                        sw_mean=mean,
                        sw_ci95=ci,
                        psnr_gain_db=gain,
                        psnr_gain_ci95=gain_ci,
                        n_seeds=len(rows),
                        seconds=sum(r["seconds"] for r in rows) / len(rows),
                        denoiser_forwards=rows[0]["denoiser_forwards"],
                        denoiser_backwards=rows[0]["denoiser_backwards"],
                        amortizer_forwards=rows[0]["amortizer_forwards"],
                    )
                )
    return results


def format_table(results: list[dict]) -> str:
    table = text_table(
        [
            number("dim", 5, "dim"),
            number("d_y", 4, "obs_dim"),
            text("sampler", 18, "sampler"),
            Column("SW mean", 8, lambda r: "-" if r["sw_mean"] is None else format(r["sw_mean"], ".3f")),
            Column("± 95%", 7, lambda r: "" if r["sw_mean"] is None else format_interval(r["sw_ci95"])),
            number("dPSNR dB", 9, "psnr_gain_db", "+.2f"),
            interval("± 95%", 7, "psnr_gain_ci95", 2),
            number("s/problem", 10, "seconds", ".2f"),
            number("fwd", 6, "denoiser_forwards"),
            number("bwd", 6, "denoiser_backwards"),
        ],
        results,
    )
    return (
        f"{table}\ndPSNR: one sample's PSNR to x* minus an exact posterior sample's (10 log10 of their mean squared "
        "distances to x*); ~0 for a perfect sampler, > 0 for samples nearer the posterior mean"
    )
