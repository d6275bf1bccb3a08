"""`lavps demo`: held-out test digits restored by every sampler on the amortizer's training families
and on families it never saw -- the whole quality/time frontier, measured in one run.

Per (task, sampler) it reports PSNR and SSIM of one sample per digit, whether the sample keeps the
digit's label under the shipped classifier (a realism check PSNR cannot give), the PSNR of the mean of
several samples (on a few digits that share one drawn operator), seconds per image, cost counts and,
for LAVPS, how often each guard candidate won. Writes report.md, metrics.csv, summary.json, labelled
grids and the PSNR-vs-seconds plot.
"""

from __future__ import annotations

import csv
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from ..amortize.network import trained_families
from ..data.mnist import mnist_split
from ..metrics import psnr, ssim
from ..operators import GaussianNoise, InverseProblem
from ..operators.spec import parse_operator_spec
from ..samplers.lavps import WINS_KEY
from ..samplers.presets import fit_to_grid, preset_options, tuned_options
from ..samplers.registry import build_sampler
from .classifier import label_agreement
from .demo_targets import gaps_section, paired_gaps
from .stats import format_interval, mean_ci95
from .table import Column, interval, number, text, text_table, yes_no

__all__ = [
    "DemoConfig",
    "DEMO_ROWS",
    "DEMO_SAMPLERS",
    "GLOSSARY",
    "run_demo",
    "format_demo_table",
    "held_out_digits",
    "row_options",
    "sample_seeds",
    "task_problem",
    "trained_families",
]

#: demo row -> (sampler, budget preset of lavps.samplers.presets): the demo runs the presets users get
DEMO_ROWS = {
    "ddrm-20": ("ddrm", "fast"),
    "ddrm-100": ("ddrm", "reference"),
    "diffpir-100": ("diffpir", "reference"),
    "dps": ("dps", "reference"),
    "mgdm": ("mgdm", "reference"),
    "lavps": ("lavps", "auto"),
    "lavps-fast": ("lavps", "fast"),
    "lavps-fastest": ("lavps", "fastest"),
    "lavps-ref": ("lavps", "reference"),
}
#: row label -> (registry name, options); LAVPS's `auto` row is resolved per task ({"preset": "auto"}, see
#: `row_options`): its budget depends on whether the task is one of the amortizer's training families
DEMO_SAMPLERS = {
    label: (name, {"preset": "auto"} if preset == "auto" else preset_options(name, preset)[1])
    for label, (name, preset) in DEMO_ROWS.items()
}

GLOSSARY = {
    "ID": "the task is one of the amortizer's training families (in distribution)",
    "PSNR / SSIM": "of one posterior sample per digit against the clean digit ([-1, 1] range for PSNR)",
    "label": "share of samples that the shipped digit classifier gives the digit's true label",
    "clean": "share of the same clean digits that the classifier labels correctly (the label column's ceiling)",
    "mean-PSNR": "PSNR of the mean of several samples, on a few digits sharing one drawn operator",
    "s/img": "wall seconds per image (all digits of a task restored as one batch)",
    "fwd / bwd": "denoiser forward passes / backward passes (VJPs) per sample path",
    "amort": "amortizer forward passes per sample path",
    "wins": "LAVPS only: share of window iterations where each guard candidate had the smallest loss",
    "ddrm-N / diffpir-N": "DDRM (Kawar et al. 2022) and DiffPIR (Zhu et al. 2023) with N denoiser calls",
    "mgdm": "zero-shot MGDM at its reference budget",
    "lavps": "LAVPS's default preset auto: fastest on the amortizer's training families, reference elsewhere",
    "lavps-fast / lavps-fastest / lavps-ref": "LAVPS presets fast (guard: network vs linearised start), fastest "
    "(network alone) and reference (fast + one Adam step)",
}


@dataclass(frozen=True)
class DemoConfig:
    """What the demo runs. `tasks` = training families + unseen ones; ID-ness comes from the amortizer."""

    images: int = 4
    tasks: tuple[str, ...] = (
        "motion_blur:9:0.5",
        "gaussian_blur:9:2.0",
        "sr:2",
        "sr:4",
        "box:0.3:0.5",
        "pixels:0.2",
        "center:0.35",
        "gaussian_blur:13:3.0",
    )
    sigma: float = 0.05
    seed: int = 0
    #: posterior-mean metric: this many digits (sharing one drawn operator), this many samples each
    mean_images: int = 1
    mean_samples: int = 4
    #: first held-out digit of each class (0 = the reported digits; tune on another offset)
    digit_offset: int = 0
    samplers: dict = field(default_factory=lambda: dict(DEMO_SAMPLERS))
    tuned_baselines: bool = True
    #: settings given by the user, per row sampler ({sampler: {config field: value}}): over every row's
    #: preset and tuned values (`lavps demo --steps ...`)
    settings: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.images < 1 or self.mean_images < 0 or self.mean_samples < 1:
            raise ValueError(f"need images >= 1, mean_images >= 0, mean_samples >= 1, got {self}")


def held_out_digits(n: int, offset: int = 0) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """n held-out test digits cycling through the classes (one 0, one 1, ...), skipping the first
    `offset` digits of each class; returns (images, labels, indices into the test split)."""
    images, labels = mnist_split("test")
    picked = []
    for i in range(n):
        idx = (labels == i % 10).nonzero().flatten()
        j = offset + i // 10
        if j >= len(idx):
            raise ValueError(f"only {len(idx)} test digits per class: cannot take digit {j} of class {i % 10}")
        picked.append(int(idx[j]))
    return images[picked], labels[picked], picked


def task_problem(config: DemoConfig, t_index: int, spec: str, shape: tuple[int, ...], clean: torch.Tensor):
    """(family, problem) of task `t_index`: one operator per digit and the noise, from a seeded generator
    (the same observations for every sampler, and for `lavps bench spread`)."""
    family = parse_operator_spec(spec, shape)
    g = torch.Generator().manual_seed(config.seed * 1000 + t_index)
    op = family.sample(len(clean), g)
    noise = GaussianNoise(config.sigma)
    with torch.no_grad():
        y = noise.measure(clean, op, torch.randn(len(clean), *op.out_shape, generator=g))
    return family, InverseProblem(y, op, noise)


def sample_seeds(config: DemoConfig, t_index: int) -> list[int]:
    """The per-digit sampler seeds of task `t_index`."""
    return [config.seed * 100_000 + t_index * 1000 + i for i in range(config.images)]


def row_options(
    config: DemoConfig, name: str, options: dict, amortizer, family_spec: str, trained: bool
) -> tuple[dict, dict]:
    """(options a row runs with, the per-family tuned setting among them): the row's options, the
    amortizer for LAVPS rows, and, unless config.tuned_baselines is off, the family's setting tuned on
    other digits (DDRM / DiffPIR / LAVPS). `trained`: the family is one of the amortizer's (auto row)."""
    if options.get("preset") == "auto":  # LAVPS's default: its budget follows the task's family
        rest = {k: v for k, v in options.items() if k != "preset"}
        options = {**preset_options(name, "auto", trained=trained)[1], **rest}
    opts = {**options, "amortizer": amortizer} if name in ("lavps", "amortized-only") else dict(options)
    tuned = tuned_options(name, family_spec) if config.tuned_baselines else {}
    given = config.settings.get(name, {})
    return {**fit_to_grid({**opts, **tuned}, given), **given}, tuned


def _mean_psnr(config: DemoConfig, prior, name, options, spec, t_index, clean) -> list[float]:
    """PSNR of the mean of `mean_samples` samples for the first `mean_images` digits (one shared operator)."""
    m, k = min(config.mean_images, len(clean)), config.mean_samples
    if m == 0:
        return []
    g = torch.Generator().manual_seed(config.seed * 1000 + t_index + 500)
    op = parse_operator_spec(spec, prior.shape).sample_one(g)
    noise = GaussianNoise(config.sigma)
    x = clean[:m]
    with torch.no_grad():
        y = noise.measure(x, op, torch.randn(m, *op.out_shape, generator=g))
    problem = InverseProblem(y.repeat_interleave(k, 0), op, noise)
    seeds = [config.seed * 100_000 + 50_000 + t_index * 1000 + i for i in range(m * k)]
    samples = build_sampler(name, prior, options).sample(problem, m * k, seed=seeds).samples.float().cpu()
    return psnr(samples.reshape(m, k, *samples.shape[1:]).mean(1), x).tolist()


def run_demo(config: DemoConfig, prior, amortizer, classifier, out_dir: Path, progress: bool = True) -> dict:
    """Runs every (task, sampler); returns {"rows": per image, "summary": per (task, sampler)}."""
    clean, labels, indices = held_out_digits(config.images, config.digit_offset)
    # the label column's ceiling: a digit the classifier mislabels clean is no sampler's failure
    clean_ok = label_agreement(classifier, clean, labels)
    trained = trained_families(amortizer, tuple(prior.shape))
    rows, grids, skipped, tuned_used = [], {}, [], []
    for t_index, spec in enumerate(config.tasks):
        family, problem = task_problem(config, t_index, spec, tuple(prior.shape), clean)
        in_distribution = family.spec in trained
        y, op = problem.y, problem.operator
        grids[spec] = {"reference": clean, "observation": op.pinv(y) if y.shape != clean.shape else y}
        for label, (name, options) in config.samplers.items():
            opts, tuned = row_options(config, name, options, amortizer, family.spec, in_distribution)
            if tuned:
                tuned_used.append(f"- {family.spec}, {label}: {tuned}")
            seeds = sample_seeds(config, t_index)
            sampler = build_sampler(name, prior, opts)  # bad settings stop the demo (they are no skipped row)
            try:
                result = sampler.sample(problem, config.images, seed=seeds, progress=progress)
            except ValueError as e:  # e.g. DDRM on an operator without a cheap SVD
                skipped.append(f"{label} on {spec}: {e}")
                continue
            x = result.samples.float().cpu()
            grids[spec][label] = x
            p, s = psnr(x, clean), ssim(x, clean)
            kept = label_agreement(classifier, x, labels)
            means = _mean_psnr(config, prior, name, opts, spec, t_index, clean)
            wins = {k: sum(v) / len(v) for k, v in result.info.get(WINS_KEY, {}).items() if v}
            c = result.cost
            for i in range(config.images):
                rows.append(
                    dict(
                        task=spec,
                        in_distribution=in_distribution,
                        sampler=label,
                        image=indices[i],
                        label=int(labels[i]),
                        seed=seeds[i],
                        psnr=float(p[i]),
                        ssim=float(s[i]),
                        label_kept=float(kept[i]),
                        label_clean=float(clean_ok[i]),
                        mean_psnr=means[i] if i < len(means) else None,
                        seconds_per_image=c.seconds / config.images,
                        denoiser_forwards=c.denoiser_forwards,
                        denoiser_backwards=c.denoiser_backwards,
                        amortizer_forwards=c.amortizer_forwards,
                        wins=";".join(f"{k}={v:.2f}" for k, v in wins.items()),
                    )
                )
    summary = summarise(rows)
    gaps = paired_gaps(rows, summary)
    write_report(config, rows, summary, grids, skipped, out_dir, tuned_used, gaps)
    return {"rows": rows, "summary": summary, "skipped": skipped, "targets": gaps}


def summarise(rows: list[dict]) -> list[dict]:
    out = []
    for task, sampler in dict.fromkeys((r["task"], r["sampler"]) for r in rows):
        rs = [r for r in rows if (r["task"], r["sampler"]) == (task, sampler)]
        pm, pc = mean_ci95([r["psnr"] for r in rs])
        sm, sc = mean_ci95([r["ssim"] for r in rs])
        means = [r["mean_psnr"] for r in rs if r["mean_psnr"] is not None]
        out.append(
            dict(
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
                seconds_per_image=rs[0]["seconds_per_image"],
                denoiser_forwards=rs[0]["denoiser_forwards"],
                denoiser_backwards=rs[0]["denoiser_backwards"],
                amortizer_forwards=rs[0]["amortizer_forwards"],
                wins=rs[0]["wins"],
                images=len(rs),
            )
        )
    return out


def _tuned_lines(config: DemoConfig, tuned_used: list[str]) -> list[str]:
    """Which (task, row) ran a per-family tuned setting (DDRM, DiffPIR, LAVPS) instead of the defaults."""
    if not config.tuned_baselines:
        return ["DDRM, DiffPIR and LAVPS ran their default settings on every task (no per-family tuning).", ""]
    if not tuned_used:
        return []
    head = (
        "Settings tuned per training family on other held-out digits (lavps.samplers.presets.TUNED; families "
        "outside the table, e.g. the unseen ones, keep the defaults above):"
    )
    return [head, "", *tuned_used, ""]


def format_demo_table(summary: list[dict]) -> str:
    # interval(): a number, or n/a when there is none (a metric not computed, one image)
    return text_table(
        [
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
            number("s/img", 6, "seconds_per_image", ".2f"),
            number("fwd", 4, "denoiser_forwards"),
            number("bwd", 4, "denoiser_backwards"),
            number("amort", 5, "amortizer_forwards"),
            Column(" wins", 0, lambda r: f" {r['wins']}", "<"),  # two spaces before the free-width column
        ],
        summary,
    )


def write_report(
    config: DemoConfig,
    rows,
    summary,
    grids: dict,
    skipped: list[str],
    out: Path,
    tuned_used: list[str] = (),
    gaps: list[dict] = (),
) -> None:
    from ..jsonfile import write_json
    from .plots import plot_demo_grid, plot_quality_vs_seconds

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "metrics.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    payload = {"config": asdict(config), "summary": summary, "targets": list(gaps), "skipped": skipped}
    write_json(out / "summary.json", payload)
    for spec, g in grids.items():
        plot_demo_grid(g, f"{spec} (sigma_y = {config.sigma})", out / f"grid_{spec.replace(':', '_')}.png")
    plot_quality_vs_seconds(summary, out / "quality_vs_seconds.png")
    lines = [
        "# lavps demo",
        "",
        f"Date: {time.strftime('%Y-%m-%d %H:%M')}; {config.images} held-out test digits per task "
        f"(digit offset {config.digit_offset}); sigma_y = {config.sigma}; seed {config.seed}; "
        f"torch threads {torch.get_num_threads()}.",
        "",
        "Samplers and their settings:",
        "",
        *[f"- `{k}`: {v[0]} {v[1]}" for k, v in config.samplers.items()],
        "",
        *_tuned_lines(config, list(tuned_used)),
        "```",
        format_demo_table(summary),
        "```",
        "",
        "Glossary:",
        "",
        *[f"- **{k}**: {v}" for k, v in GLOSSARY.items()],
        "",
    ]
    if gaps:
        lines += gaps_section(gaps)
    if skipped:
        lines += ["Not run (the sampler does not apply):", "", *[f"- {s}" for s in skipped], ""]
    lines += ["Grids (rows: reference, observation, then one row per sampler; columns: digits):", ""]
    lines += [f"- `{spec}`: ![](grid_{spec.replace(':', '_')}.png)" for spec in grids]
    lines += ["", "Per-image metrics: `metrics.csv`; plot: `quality_vs_seconds.png`."]
    (out / "report.md").write_text("\n".join(lines) + "\n")
