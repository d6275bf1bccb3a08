"""`lavps demo`: held-out test digits, the amortizer's in-distribution task and several OOD tasks, restored
with DPS, MGDM at a reference budget and LAVPS; a table, a report folder, grids, metrics and a plot."""

from __future__ import annotations

import csv
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from ..data.mnist import mnist_split
from ..operators import GaussianNoise, InverseProblem
from ..operators.spec import parse_operator_spec
from ..samplers.registry import build_sampler
from .image_metrics import psnr, ssim
from .stats import format_interval, mean_ci95

__all__ = ["DemoConfig", "run_demo", "format_demo_table"]


@dataclass(frozen=True)
class DemoConfig:
    images: int = 4
    tasks: tuple[str, ...] = ("motion_blur:9:0.5", "box:0.3:0.5", "sr:2", "gaussian_blur:9:2.0", "pixels:0.2")
    id_task: str = "motion_blur:9:0.5"
    sigma: float = 0.05
    seed: int = 0
    #: sampler label -> (registry name, options); MGDM's reference budget, LAVPS's cheap budget
    samplers: dict = field(
        default_factory=lambda: {
            "dps": ("dps", {"dps_steps": 250, "dps_zeta": 1.0}),
            # MGDM's reference budget (docs/METHOD.md: 5 Adam steps outside, 20 inside the final window)
            "mgdm": ("mgdm", {"steps": 50, "window": 15, "adam_out": 5, "adam_in": 20, "lr": 0.03}),
            # MGDM at LAVPS's budget: the same-budget comparison (how much the amortizer adds)
            "mgdm-fast": ("mgdm", {"steps": 50, "window": 15, "adam_out": 1, "adam_in": 1, "lr": 0.03}),
            "lavps": ("lavps", {"steps": 50, "window": 15, "adam_out": 1, "adam_in": 1, "inner_steps": 1, "lr": 0.03}),
        }
    )


def held_out_digits(n: int) -> tuple[torch.Tensor, list[int]]:
    """n held-out digits, cycling through the classes (one 0, one 1, ...)."""
    images, labels = mnist_split("test")
    picked = []
    for i in range(n):
        cls = i % 10
        idx = (labels == cls).nonzero().flatten()
        picked.append(int(idx[i // 10]))
    return images[picked], picked


def run_demo(config: DemoConfig, prior, amortizer, out_dir: Path, progress: bool = True) -> dict:
    """Runs every (task, sampler); returns {"rows": per image, "summary": per (task, sampler)}."""
    clean, indices = held_out_digits(config.images)
    rows, grids = [], {}
    for t_index, spec in enumerate(config.tasks):
        family = parse_operator_spec(spec, prior.shape)
        g = torch.Generator().manual_seed(config.seed * 1000 + t_index)
        op = family.sample(config.images, g)  # one operator per image, drawn from a seeded generator
        noise = GaussianNoise(config.sigma)
        with torch.no_grad():
            y = noise.measure(clean, op, torch.randn(config.images, *op.out_shape, generator=g))
        problem = InverseProblem(y, op, noise)
        grids[spec] = {"reference": clean, "observation": op.pinv(y) if y.shape != clean.shape else y}
        for label, (name, options) in config.samplers.items():
            opts = dict(options)
            if name in ("lavps", "amortized-only"):
                opts["amortizer"] = amortizer
            sampler = build_sampler(name, prior, opts)
            seeds = [config.seed * 100_000 + t_index * 1000 + i for i in range(config.images)]
            result = sampler.sample(problem, config.images, seed=seeds, progress=progress)
            x = result.samples.float().cpu()
            grids[spec][label] = x
            p, s = psnr(x, clean), ssim(x, clean)
            c = result.cost
            for i in range(config.images):
                rows.append(
                    dict(
                        task=spec,
                        in_distribution=spec == config.id_task,
                        sampler=label,
                        image=indices[i],
                        seed=seeds[i],
                        psnr=float(p[i]),
                        ssim=float(s[i]),
                        seconds_per_image=c.seconds / config.images,
                        denoiser_forwards=c.denoiser_forwards,
                        denoiser_backwards=c.denoiser_backwards,
                        amortizer_forwards=c.amortizer_forwards,
                    )
                )
    summary = summarise(rows)
    write_report(config, rows, summary, grids, out_dir)
    return {"rows": rows, "summary": summary}


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    keys = dict.fromkeys((r["task"], r["sampler"]) for r in rows)
    for task, sampler in keys:
        rs = [r for r in rows if (r["task"], r["sampler"]) == (task, sampler)]
        pm, pc = mean_ci95([r["psnr"] for r in rs])
        sm, sc = mean_ci95([r["ssim"] for r in rs])
        out.append(
            dict(
                task=task,
                in_distribution=rs[0]["in_distribution"],
                sampler=sampler,
                psnr=pm,
                psnr_ci95=pc,
                ssim=sm,
                ssim_ci95=sc,
                seconds_per_image=rs[0]["seconds_per_image"],
                denoiser_forwards=rs[0]["denoiser_forwards"],
                denoiser_backwards=rs[0]["denoiser_backwards"],
                amortizer_forwards=rs[0]["amortizer_forwards"],
                images=len(rs),
            )
        )
    return out


def format_demo_table(summary: list[dict]) -> str:
    head = (
        f"{'task':<20} {'ID':>3} {'sampler':<8} {'PSNR':>6} {'±95%':>5} {'SSIM':>6} {'±95%':>5} "
        f"{'s/img':>7} {'fwd':>5} {'bwd':>5} {'amort':>5}"
    )
    lines = [head, "-" * len(head)]
    for r in summary:
        lines.append(
            f"{r['task']:<20} {'yes' if r['in_distribution'] else 'no':>3} {r['sampler']:<9} "
            f"{r['psnr']:>6.2f} {format_interval(r['psnr_ci95'], 5, 2)} {r['ssim']:>6.3f} "
            f"{format_interval(r['ssim_ci95'], 5, 3)} "
            f"{r['seconds_per_image']:>7.2f} {r['denoiser_forwards']:>5} {r['denoiser_backwards']:>5} "
            f"{r['amortizer_forwards']:>5}"
        )
    return "\n".join(lines)


def write_report(config: DemoConfig, rows: list[dict], summary: list[dict], grids: dict, out: Path) -> None:
    from ..imaging.io import write_png
    from ..imaging.workflow import write_json
    from .plots import plot_quality_vs_seconds

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "metrics.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    write_json(out / "summary.json", {"config": asdict(config), "summary": summary})
    for spec, g in grids.items():
        # rows: reference, observation (A^+ y for SR), then one row per sampler; columns: images
        stacked = torch.cat([torch.cat(list(v.detach()), dim=-1) for v in g.values()], dim=-2)
        write_png(stacked, out / f"grid_{spec.replace(':', '_')}.png")
    plot_quality_vs_seconds(summary, out / "quality_vs_seconds.png")
    lines = [
        "# lavps demo",
        "",
        f"Date: {time.strftime('%Y-%m-%d %H:%M')}; {config.images} held-out test digits;"
        f" sigma_y = {config.sigma}; ID task: `{config.id_task}`.",
        "",
        "Samplers: " + "; ".join(f"{k}: {v[0]} {v[1]}" for k, v in config.samplers.items()),
        "",
        "```",
        format_demo_table(summary),
        "```",
        "",
        "Grids (rows: reference, observation, " + ", ".join(config.samplers) + "):",
        "",
    ]
    lines += [f"- `{spec}`: ![](grid_{spec.replace(':', '_')}.png)" for spec in grids]
    lines += ["", "Per-image metrics: `metrics.csv`; plot: `quality_vs_seconds.png`."]
    (out / "report.md").write_text("\n".join(lines) + "\n")
