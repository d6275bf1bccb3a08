"""`lavps bench paper`: the LAVPS paper's protocol on a user's prior and clean images (docs/paper_bench.md).

For every task (an operator spec, typically `paper:NAME`) and every clean image `name`, ONE observation
y = A x + sigma n is simulated with the image's seed s = name_seed(seed, name) (its operator from s, its
noise from s + 1, as `lavps degrade --seed s` would), and every sampler restores that same y with sampler
seed s: the samplers are compared on identical problems (paired). Budgets: the preset `lavps-paper`
(`lavps.samplers.presets`: the paper's official configs) or any other preset, plus the user's settings;
DPS takes the official code's step size for the task's kind (`paper_dps_zeta`) unless the user gives one.

Per image: PSNR / SSIM of the saved 8-bit reconstruction, LPIPS when available
(`lavps.evaluation.lpips_metric`), wall seconds (the sampler call divided by the images in it: batch 1
by default, the paper's per-image time) and network passes. Per (task, sampler): mean and 95% t-interval
over the images, and whether the point is on the task's quality/seconds Pareto front.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..amortize.network import trained_family_for
from ..imaging.io import from_unit, to_unit, write_png
from ..metrics import psnr, ssim
from ..operators import GaussianNoise, InverseProblem
from ..operators.spec import parse_operator_spec
from ..operators.stack import StackedOperator
from ..priors.latent import LatentMeasurement, LatentPrior, image_shape
from ..random import name_seed
from ..samplers.registry import build_sampler
from ..workflows.image import simulate
from ..workflows.settings import resolve_settings
from .lpips_metric import LpipsMetric
from .stats import mean_ci95
from .table import Column, interval, number, text, text_table

__all__ = [
    "PAPER_SAMPLERS",
    "PaperBenchConfig",
    "paper_dps_zeta",
    "run_paper_bench",
    "summarize",
    "format_paper_table",
    "ROW_COLUMNS",
]

PAPER_SAMPLERS = ("dps", "mgdm", "lavps")
#: the per-image CSV's columns
ROW_COLUMNS = [
    "task",
    "sampler",
    "image",
    "seed",
    "psnr",
    "ssim",
    "lpips",
    "seconds",
    "denoiser_forwards",
    "denoiser_backwards",
    "amortizer_forwards",
]
# DPS's step size by task kind in the official code (configs/sampler/dps.yaml "context_parameters":
# motion blur and blur 0.3, x4 super-resolution 1.0, centre inpainting 1.0, any other linear task 0.1)
_DPS_ZETA = {"motion_blur": 0.3, "gaussian_blur": 0.3, "sr": 1.0, "center": 1.0}
_DPS_ZETA_OTHER = 0.1


def paper_dps_zeta(family) -> float:
    """The official code's DPS step size for the kind of `family` (a paper task: the kind of its spec)."""
    inner = getattr(family, "inner", family)
    return _DPS_ZETA.get(inner.spec.split(":")[0], _DPS_ZETA_OTHER)


@dataclass(frozen=True)
class PaperBenchConfig:
    """What `run_paper_bench` runs.

    Attributes:
        tasks: operator specs (`paper:mb_21_0.9`, `sr:4`, ...).
        samplers: any of dps, mgdm, lavps.
        preset: the budget preset of every sampler (`lavps-paper`: the paper's; `tiny`: a quick check).
        settings: {sampler: {config field: value}} over the preset (the user's options).
        sigma: observation noise sigma_y (images in [-1, 1]; the paper's 0.05).
        seed: run seed; image `name` gets name_seed(seed, name).
        batch_size: images per sampler call.
        amortizer: LAVPS's amortizer (a loaded network or a path; None: the shipped one).
    """

    tasks: tuple[str, ...]
    samplers: tuple[str, ...] = PAPER_SAMPLERS
    preset: str = "lavps-paper"
    settings: dict = field(default_factory=dict)
    sigma: float = 0.05
    seed: int = 0
    batch_size: int = 1
    amortizer: object = None


def run_paper_bench(
    config: PaperBenchConfig, prior, images: dict[str, torch.Tensor], out: Path, metric: LpipsMetric
) -> dict:
    """Run every (task, sampler) on every image; write the PNGs under out/images/<task>/<name>/.

    images: name -> clean image (C, H, W) in [-1, 1] of the prior's image shape (a latent prior's decoded
    images: its samplers run on z against A(decode(z)), and the decodes are scored).
    Returns {"rows": per image, "summary": per (task, sampler), "settings": {task: {sampler: record}}}.
    """
    shape = image_shape(prior)
    families = {task: parse_operator_spec(task, shape) for task in config.tasks}  # all checked before any work
    seeds = {name: name_seed(config.seed, name) for name in images}
    build_sampler("ddim", prior, {"steps": 3}).sample(None, 1, seed=[0])  # warm-up: first-call costs not timed
    rows, records, amortizer = [], {}, None
    for task, family in families.items():
        draw = _draw_task(task, family, images, seeds, config.sigma, out)
        records[task] = {}
        for sampler in config.samplers:
            overrides = dict(config.settings.get(sampler, {}))
            if sampler == "dps":
                overrides.setdefault("dps_zeta", paper_dps_zeta(family))
            resolved = resolve_settings(sampler, config.preset, overrides, prior, family.spec, config.amortizer)
            if "amortizer" in resolved.networks:
                amortizer = resolved.networks["amortizer"]
            records[task][sampler] = resolved.record
            built = build_sampler(sampler, prior, resolved.config, **resolved.networks)
            rows += _restore_rows(draw, sampler, built, images, config, metric)

    def trained(family) -> bool:  # the family or the one it wraps is (inside) a training family
        return any(trained_family_for(amortizer, f.spec, shape) for f in (family, getattr(family, "inner", family)))

    in_dist = {task: trained(family) for task, family in families.items()}
    return {"rows": rows, "summary": summarize(rows, in_dist), "settings": records}


@dataclass(frozen=True)
class _TaskDraw:
    """One task's problems: per image its seed, operator and observation, and the task's image folder."""

    task: str
    family: object
    seeds: dict
    ops: dict
    ys: dict
    folder: Path


def _draw_task(task: str, family, images: dict, seeds: dict, sigma: float, out: Path) -> _TaskDraw:
    """Each image's operator (from its seed) and observation (noise from seed + 1); reference and
    observation PNGs written."""
    ops = {n: family.sample_one(torch.Generator().manual_seed(s)) for n, s in seeds.items()}
    ys = {n: simulate(x[None], ops[n], sigma, seeds[n]) for n, x in images.items()}
    folder = out / "images" / task.replace(":", "_")
    for n in images:
        write_png(images[n], folder / n / "reference.png")
        write_png(ys[n][0], folder / n / "observation.png")
    return _TaskDraw(task, family, seeds, ops, ys, folder)


def _restore_rows(draw: _TaskDraw, sampler: str, built, images: dict, config: PaperBenchConfig, metric) -> list:
    """One row per image: the sampler restores the task's observations, config.batch_size at a time."""
    rows, names = [], list(images)
    for b in range(0, len(names), config.batch_size):
        batch = names[b : b + config.batch_size]
        op = StackedOperator([draw.ops[n] for n in batch]) if draw.family.random else draw.ops[batch[0]]
        latent = isinstance(built.prior, LatentPrior)
        op = LatentMeasurement(op, built.prior) if latent else op  # the observation is of the decoded image
        problem = InverseProblem(torch.cat([draw.ys[n] for n in batch]), op, GaussianNoise(config.sigma))
        result = built.sample(problem, len(batch), seed=[draw.seeds[n] for n in batch])
        x = result.samples
        if latent:  # scored and saved as images, as `lavps restore` returns them
            with torch.no_grad():
                x = built.prior.decode(x)
        x = _as_saved(x.cpu())
        quality = _scores(x, torch.stack([images[n] for n in batch]), metric)
        for j, n in enumerate(batch):
            write_png(x[j], draw.folder / n / f"{sampler}.png")
            row = {"task": draw.task, "sampler": sampler, "image": n, "seed": draw.seeds[n]}
            row.update({k: v[j] for k, v in quality.items()})
            row.update(seconds=result.cost.seconds / len(batch), **_passes(result.cost))
            rows.append(row)
    return rows


def _as_saved(x: torch.Tensor) -> torch.Tensor:
    """x as write_png stores it (8-bit levels, back in [-1, 1]): the metrics are those of the files."""
    return from_unit((to_unit(x.detach().float()) * 255).round() / 255)


def _scores(x: torch.Tensor, ref: torch.Tensor, metric: LpipsMetric) -> dict[str, list]:
    out = {"psnr": psnr(x, ref).tolist(), "ssim": ssim(x, ref).tolist()}
    out["lpips"] = metric.score(x, ref).tolist() if metric.score is not None else [None] * len(x)
    return out


def _passes(cost) -> dict:
    return {
        "denoiser_forwards": cost.denoiser_forwards,
        "denoiser_backwards": cost.denoiser_backwards,
        "amortizer_forwards": cost.amortizer_forwards,
    }


def summarize(rows: list[dict], in_distribution: dict[str, bool] | None = None) -> list[dict]:
    """Per (task, sampler): mean and 95% half-width of PSNR, SSIM, LPIPS (None when skipped) and seconds
    per image over the images; `pareto`: no other sampler of the task is as fast and better in PSNR."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["task"], r["sampler"]), []).append(r)
    summary = []
    for (task, sampler), members in groups.items():
        entry = {"task": task, "sampler": sampler, "images": len(members)}
        for key, name in (("psnr", "psnr"), ("ssim", "ssim"), ("lpips", "lpips"), ("seconds", "seconds_per_image")):
            values = [r[key] for r in members if r[key] is not None]
            mean, half = mean_ci95(values) if values else (None, None)
            entry.update({name: mean, f"{name}_ci95": half})
        entry.update({k: members[0][k] for k in ("denoiser_forwards", "denoiser_backwards", "amortizer_forwards")})
        entry["in_distribution"] = bool((in_distribution or {}).get(task, False))
        summary.append(entry)
    for e in summary:
        rivals = [o for o in summary if o["task"] == e["task"] and o is not e]
        e["pareto"] = not any(
            o["seconds_per_image"] <= e["seconds_per_image"]
            and o["psnr"] >= e["psnr"]
            and (o["seconds_per_image"] < e["seconds_per_image"] or o["psnr"] > e["psnr"])
            for o in rivals
        )
    return summary


def _opt(key: str, spec: str) -> Column:
    return Column(key, 7, lambda r: "-" if r[key] is None else format(r[key], spec))


def format_paper_table(summary: list[dict]) -> str:
    """One line per (task, sampler): n, PSNR / SSIM / LPIPS with their 95% intervals, s/image, passes."""
    return text_table(
        [
            text("task", 20, "task"),
            text("sampler", 7, "sampler"),
            number("n", 3, "images"),
            number("PSNR", 7, "psnr", ".2f"),
            interval("±95%", 6, "psnr_ci95", 2),
            number("SSIM", 6, "ssim", ".3f"),
            interval("±95%", 6, "ssim_ci95", 3),
            _opt("lpips", ".3f"),
            number("s/img", 8, "seconds_per_image", ".3f"),
            number("fwd", 5, "denoiser_forwards"),
            number("bwd", 5, "denoiser_backwards"),
            Column("pareto", 6, lambda r: "*" if r["pareto"] else ""),
        ],
        summary,
    )
