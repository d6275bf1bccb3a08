"""The demo's summary, tables and report files (report.md, metrics.csv, summary.json, grids, plot)."""

from __future__ import annotations

import csv
import time
from dataclasses import asdict
from pathlib import Path

import torch

from ..finite import DIVERGED_ABOVE
from ..version import __version__
from .demo_targets import gaps_section
from .phase_modes import MODE_CLASSES
from .stats import format_interval, mean_ci95
from .table import Column, interval, number, text, text_table, yes_no

__all__ = ["GLOSSARY", "format_demo_table", "format_modes", "format_prior_pairs", "summarise", "write_report"]

GLOSSARY = {
    "ID": "the task is one of the amortizer's training families (in distribution)",
    "PSNR / SSIM": "of one posterior sample per digit against the clean digit ([-1, 1] range for PSNR)",
    "label": "share of samples that the shipped digit classifier gives the digit's true label",
    "clean": "share of the same clean digits that the classifier labels correctly (the label column's ceiling)",
    "mean-PSNR": "PSNR of the mean of several samples, on a few digits sharing one drawn operator",
    "ES": "energy score of those samples against the digit, E||X - x*|| - E||X - X'|| / 2 in RMS units (lower is "
    "better; strictly proper: unlike one-sample PSNR it does not reward samples squeezed towards the mean), "
    "mean over those digits",
    "spread": "spread ratio of those samples: how far the digit sits from their mean in units of how far they "
    "do (1: honest; > 1: samples too close together, over-confident; < 1: too spread out)",
    "s/img": "wall seconds per image (all digits of a task restored as one batch; a latent prior's decode included)",
    "fwd / bwd": "denoiser forward passes / backward passes (VJPs) per sample path",
    "amort": "amortizer forward passes per sample path",
    "wins": "LAVPS only: share of window iterations where each guard candidate had the smallest loss",
    "ddrm-N / diffpir-N": "DDRM (Kawar et al. 2022) and DiffPIR (Zhu et al. 2023) with N denoiser calls; "
    "linear operators on a pixel prior only",
    "mgdm": "zero-shot MGDM at its reference budget",
    "lavps": "LAVPS's default preset auto: fastest on the amortizer's linear training families, reference elsewhere "
    "(non-linear ones included)",
    "lavps-fast / lavps-fastest / lavps-ref": "LAVPS presets fast (guard: network vs linearised start), fastest "
    "(network alone) and reference (fast + one Adam step)",
}


PHASE_HEAD = (
    "Phase retrieval: share of samples in each mode class (lavps.evaluation.phase_modes), PSNR to the best-aligned "
    "copy (shift / 180-degree rotation) of the digit:"
)


def summarise(rows: list[dict]) -> list[dict]:
    """One entry per (prior, task, sampler): means and 95% intervals over the digits; on phase retrieval
    the share of samples in each mode class and the PSNR to the best-aligned copy of the digit."""
    out = []
    keys = dict.fromkeys((r.get("prior"), r["task"], r["sampler"]) for r in rows)
    for prior, task, sampler in keys:
        rs = [r for r in rows if (r.get("prior"), r["task"], r["sampler"]) == (prior, task, sampler)]
        pm, pc = mean_ci95([r["psnr"] for r in rs])
        sm, sc = mean_ci95([r["ssim"] for r in rs])
        means = [r["mean_psnr"] for r in rs if r["mean_psnr"] is not None]
        energies = [r["energy_score"] for r in rs if r.get("energy_score") is not None]
        es, es_ci = mean_ci95(energies) if energies else (None, None)
        entry = dict(
            prior=prior,
            task=task,
            in_distribution=rs[0]["in_distribution"],
            sampler=sampler,
            psnr=pm,
            psnr_ci95=pc,
            ssim=sm,
            ssim_ci95=sc,
            label_kept=sum(r["label_kept"] for r in rs) / len(rs),
            label_clean=sum(r.get("label_clean", float("nan")) for r in rs) / len(rs),
            mean_psnr=sum(means) / len(means) if means else None,
            energy_score=es,
            energy_score_ci95=es_ci,
            energy_digits=len(energies),
            spread_ratio=rs[0].get("spread_ratio"),
            seconds_per_image=rs[0]["seconds_per_image"],
            denoiser_forwards=rs[0]["denoiser_forwards"],
            denoiser_backwards=rs[0]["denoiser_backwards"],
            amortizer_forwards=rs[0]["amortizer_forwards"],
            wins=rs[0]["wins"],
            images=len(rs),
        )
        if rs[0].get("mode") is not None:
            entry["modes"] = {c: sum(r["mode"] == c for r in rs) / len(rs) for c in MODE_CLASSES}
            entry["aligned_psnr"], entry["aligned_psnr_ci95"] = mean_ci95([r["aligned_psnr"] for r in rs])
        out.append(entry)
    return out


def _several_priors(summary: list[dict]) -> bool:
    return len({r.get("prior") for r in summary}) > 1


def format_demo_table(summary: list[dict]) -> str:
    # interval(): a number, or n/a when there is none (a metric not computed, one image)
    prior = [text("prior", 9, "prior")] if _several_priors(summary) else []
    return text_table(
        [
            *prior,
            text("task", 20, "task"),
            yes_no("ID", 3, "in_distribution"),
            text("sampler", 11, "sampler"),
            interval("PSNR", 6, "psnr", 2),
            interval("±95%", 5, "psnr_ci95", 2),
            interval("SSIM", 6, "ssim", 3),
            interval("±95%", 5, "ssim_ci95", 3),
            interval("label", 5, "label_kept", 2),
            Column("clean", 5, lambda r: format_interval(r.get("label_clean"), 5, 2)),
            interval("mean-PSNR", 9, "mean_psnr", 2),
            interval("ES", 6, "energy_score", 4),
            interval("spread", 6, "spread_ratio", 2),
            number("s/img", 6, "seconds_per_image", ".2f"),
            number("fwd", 4, "denoiser_forwards"),
            number("bwd", 4, "denoiser_backwards"),
            number("amort", 5, "amortizer_forwards"),
            Column(" wins", 0, lambda r: f" {r['wins']}", "<"),  # two spaces before the free-width column
        ],
        summary,
    )


def format_modes(summary: list[dict]) -> str:
    """Phase retrieval: per (prior, task, sampler) the share of samples in each mode class and the PSNR to
    the best-aligned copy of the digit ('' when no phase task ran)."""
    entries = [r for r in summary if "modes" in r]
    if not entries:
        return ""
    columns = [text("prior", 9, "prior"), text("task", 9, "task"), text("sampler", 13, "sampler")]
    columns += [Column(c, 8, lambda r, c=c: f"{r['modes'][c]:.2f}") for c in MODE_CLASSES]
    columns += [number("aligned", 7, "aligned_psnr", ".2f"), interval("±95%", 5, "aligned_psnr_ci95", 2)]
    columns += [number("PSNR", 6, "psnr", ".2f")]
    return text_table(columns, entries)


def prior_pairs(rows: list[dict], summary: list[dict]) -> list[dict]:
    """Each (task, sampler) that ran on the first prior and on another: both priors' PSNR, SSIM, seconds and
    passes, and the PSNR difference (other - first) paired per digit (same digits, operators and noise)."""
    names = list(dict.fromkeys(r.get("prior") for r in summary))
    by_key = {(r.get("prior"), r["task"], r["sampler"]): r for r in summary}
    psnr = {(r.get("prior"), r["task"], r["sampler"], r["image"]): r["psnr"] for r in rows}
    out = []
    for other in names[1:]:
        for (prior, task, sampler), s in by_key.items():
            base = by_key.get((names[0], task, sampler))
            if prior != other or base is None:
                continue
            diffs = [
                psnr[(other, task, sampler, i)] - v
                for (p, t, smp, i), v in psnr.items()
                if (p, t, smp) == (names[0], task, sampler) and (other, task, sampler, i) in psnr
            ]
            gap, ci = mean_ci95(diffs)
            out.append(dict(task=task, sampler=sampler, first=base, other=s, gap=gap, gap_ci95=ci))
    return out


def format_prior_pairs(pairs: list[dict]) -> str:
    """The pixel-vs-latent table of `prior_pairs`: columns ending in 1 are the first prior's, in 2 the other's."""

    def side(key: str, n: str, header: str, cell) -> Column:
        return Column(f"{header} {n}", len(header) + 2, lambda r: cell(r[key]))

    columns = [text("task", 20, "task"), text("sampler", 13, "sampler")]
    for key, n in (("first", "1"), ("other", "2")):
        columns += [
            side(key, n, "PSNR", lambda s: f"{s['psnr']:.2f}"),
            side(key, n, "SSIM", lambda s: f"{s['ssim']:.3f}"),
            side(key, n, "s/img", lambda s: f"{s['seconds_per_image']:.2f}"),
            side(key, n, "fwd/bwd", lambda s: f"{s['denoiser_forwards']}/{s['denoiser_backwards']}"),
        ]
    columns += [number("2-1 dB", 7, "gap", "+.2f"), interval("±95%", 5, "gap_ci95", 2)]
    names = dict.fromkeys((p["first"]["prior"], p["other"]["prior"]) for p in pairs)
    legend = "; ".join(f"1 = {a}, 2 = {b}" for a, b in names)
    return text_table(columns, pairs) + f"\n({legend}; 2-1 dB: PSNR difference paired per digit, 95% t-interval)"


def write_report(
    config, rows, summary, grids: dict, skipped, out: Path, tuned_used=(), gaps=(), priors=(), draws=None, ran=()
) -> None:
    """report.md, metrics.csv, summary.json, one grid per task and the PSNR-vs-seconds plot into `out`.
    `draws`: the prior-draw setting's entries (`lavps.evaluation.demo_draws`), reported beside the digits."""
    from ..jsonfile import write_json
    from .demo_draws import draws_section
    from .demo_frontier import all_frontiers, frontier_section
    from .plots import plot_demo_grid, plot_quality_vs_seconds

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "metrics.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    pairs = prior_pairs(rows, summary) if _several_priors(summary) else []
    frontiers = all_frontiers(rows, summary)
    payload = {"config": asdict(config), "priors": [_prior_line(p) for p in priors], "summary": summary}
    payload.update(targets=list(gaps), frontier=frontiers, prior_draws=draws or [], prior_pairs=_flat_pairs(pairs))
    diverged = diverged_rows(rows)
    payload.update(skipped=skipped, diverged=diverged, settings_that_ran=list(ran), lavps_version=__version__)
    write_json(out / "summary.json", payload)
    for name, g in grids.items():
        plot_demo_grid(g, f"{name} (sigma_y = {config.sigma})", out / _grid_file(name))
    several = _several_priors(summary)
    plotted = [{**r, "task": f"{r['task']} [{r['prior']}]"} if several else r for r in summary]
    plot_quality_vs_seconds(plotted, out / "quality_vs_seconds.png")
    lines = [
        "# lavps demo",
        "",
        f"Date: {time.strftime('%Y-%m-%d %H:%M')}; {config.images} held-out test digits per task "
        f"(digit offset {config.digit_offset}); sigma_y = {config.sigma}; seed {config.seed}; "
        f"torch threads {torch.get_num_threads()}.",
        "",
        *([f"- prior {_prior_line(p)}" for p in priors] + ([""] if priors else [])),
        "Samplers and their presets (every setting that ran, per task and row, with its seeds: summary.json "
        "`settings_that_ran`):",
        "",
        *[f"- `{k}`: {v[0]} {v[1]}" for k, v in config.samplers.items()],
        "",
        *_tuned_lines(config, list(tuned_used)),
        "Real test digits:",
        "",
        "```",
        format_demo_table(summary),
        "```",
        "",
        "Glossary:",
        "",
        *[f"- **{k}**: {v}" for k, v in GLOSSARY.items()],
        "",
    ]
    modes = format_modes(summary)
    if modes:
        lines += [PHASE_HEAD, "", "```", modes, "```", ""]
    if pairs:
        lines += ["Priors side by side (same digits, operators, noise and seeds):", "", "```"]
        lines += [format_prior_pairs(pairs), "```", ""]
    if draws:
        lines += draws_section(draws)
    if any(frontiers.values()):
        lines += frontier_section(frontiers)
    if gaps:
        lines += gaps_section(gaps)
    if skipped:
        lines += ["Not run (the sampler does not apply):", "", *[f"- {s}" for s in skipped], ""]
    if diverged:
        lines += ["Diverged (samples far outside [-1, 1]: their PSNR is of clipped noise, not of a posterior):", ""]
        lines += [f"- {d}" for d in diverged] + [""]
    lines += ["Grids (rows: reference, observation, then one row per sampler; columns: digits):", ""]
    lines += [f"- `{name}`: ![]({_grid_file(name)})" for name in grids]
    lines += ["", "Per-image metrics: `metrics.csv`; plot: `quality_vs_seconds.png`."]
    (out / "report.md").write_text("\n".join(lines) + "\n")


def diverged_rows(rows: list[dict]) -> list[str]:
    """'SAMPLER on TASK: n of N digits, |x| up to M' for every (prior, task, sampler) with a diverged sample."""
    groups: dict[tuple, list[float]] = {}
    for r in rows:
        groups.setdefault((r["prior"], r["task"], r["sampler"]), []).append(r.get("max_abs") or 0.0)
    out = []
    for (prior, task, sampler), reach in groups.items():
        bad = [m for m in reach if m > DIVERGED_ABOVE]
        if bad:
            out.append(f"{sampler} on {task} ({prior}): {len(bad)} of {len(reach)} digits, |x| up to {max(bad):.3g}")
    return out


def _grid_file(name: str) -> str:
    return f"grid_{name.replace(':', '_').replace(' ', '_')}.png"


def _prior_line(dp) -> str:
    nets = [getattr(dp.amortizer, "info", {}) or {}]
    if dp.nonlinear_amortizer is not None:
        nets.append(getattr(dp.nonlinear_amortizer, "info", {}) or {})
    families = " | ".join(str(n.get("family", {}).get("name", "?")) for n in nets)
    extra = " (the second one on the non-linear tasks)" if dp.nonlinear_amortizer is not None else ""
    files = f" ({' | '.join(dp.amortizer_files)})" if dp.amortizer_files else ""
    return f"`{dp.name}`: LAVPS amortizer(s){files} trained on {families}{extra}"


def _flat_pairs(pairs: list[dict]) -> list[dict]:
    keep = ("psnr", "ssim", "seconds_per_image", "denoiser_forwards", "denoiser_backwards", "prior")
    return [
        {"task": p["task"], "sampler": p["sampler"], "gap": p["gap"], "gap_ci95": p["gap_ci95"]}
        | {f"{side}_{k}": p[side][k] for side in ("first", "other") for k in keep}
        for p in pairs
    ]


def _tuned_lines(config, tuned_used: list[str]) -> list[str]:
    """Which (task, row) ran a per-family tuned setting (DDRM, DiffPIR, LAVPS) instead of the defaults."""
    if not config.tuned_baselines:
        return ["DDRM, DiffPIR and LAVPS ran their default settings on every task (no per-family tuning).", ""]
    if not tuned_used:
        return []
    head = (
        "Settings tuned per training family on other held-out digits (lavps.samplers.presets.TUNED; families "
        "outside the table, e.g. the unseen ones, keep the defaults above):"
    )
    return [head, "", *dict.fromkeys(tuned_used), ""]
