"""One sample against the mean of K samples, on the demo's digits and observations: does a sampler's
one-sample PSNR come from where its samples are centred, or from how little they spread?

A posterior sampler's sample is, by construction, further from the truth than the posterior mean (about
3 dB for an exact one on the Gaussian-mixture benchmark: results/gmm_distortion). So one-sample PSNR
rewards samplers whose samples barely differ. Per (task, sampler) this study draws K samples of every
digit -- sample 0 with the demo's own seed, so the one-sample column reproduces `lavps demo` -- and
reports the PSNR of one sample, the PSNR of the mean of the K (most of the spread averaged out), and the
spread (per-pixel variance across the K, unbiased). Gaps between rows are paired per digit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from tqdm.auto import tqdm

from ..amortize.network import trained_family_for
from ..metrics import psnr
from ..samplers.registry import build_sampler
from .demo import LINEAR_TASKS, DemoConfig, held_out_digits, row_options, sample_seeds, task_problem
from .stats import mean_ci95
from .table import interval, number, text, text_table

__all__ = ["SpreadConfig", "run_spread", "format_spread", "format_spread_gaps"]

#: seed offset of draw k >= 1 (draw 0 uses the demo's seed)
_DRAW_OFFSET = 10_000_000


@dataclass(frozen=True)
class SpreadConfig:
    """demo: digits, tasks, noise, seeds and rows (DemoConfig). samples: K draws per digit (>= 2).
    compare: (row, reference row) pairs whose paired gaps are reported."""

    demo: DemoConfig = field(default_factory=lambda: DemoConfig(tasks=LINEAR_TASKS))
    samples: int = 4
    compare: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        if self.samples < 2:
            raise ValueError(f"the spread needs at least 2 samples per digit, got {self.samples}")
        unknown = sorted({r for pair in self.compare for r in pair} - set(self.demo.samplers))
        if unknown:
            raise ValueError(f"unknown row(s) {', '.join(unknown)} to compare; rows: {', '.join(self.demo.samplers)}")


def run_spread(config: SpreadConfig, prior, amortizer, progress: bool = True) -> dict:
    """Returns {"config", "rows": per digit, "summary": per (task, sampler), "gaps": per compared pair,
    "skipped": rows that cannot run on a task, with the reason}."""
    demo, k = config.demo, config.samples
    clean, _, indices = held_out_digits(demo.images, demo.digit_offset)
    rows, skipped = [], []
    bar = tqdm(total=len(demo.tasks) * len(demo.samplers) * k, desc="bench spread", disable=not progress)
    for t_index, spec in enumerate(demo.tasks):
        family, problem = task_problem(demo, t_index, spec, tuple(prior.shape), clean)
        seeds = sample_seeds(demo, t_index)
        trained = trained_family_for(amortizer, family.spec, tuple(prior.shape)) is not None
        for label, (name, options) in demo.samplers.items():
            opts, _ = row_options(demo, name, options, amortizer, family.spec, trained)
            sampler = build_sampler(name, prior, opts)
            draws, seconds = [], 0.0
            try:
                for j in range(k):
                    result = sampler.sample(problem, len(seeds), seed=[s + j * _DRAW_OFFSET for s in seeds])
                    draws.append(result.samples.float().cpu())
                    seconds += result.cost.seconds
                    bar.update()
            except ValueError as e:  # e.g. DDRM on an operator without a cheap SVD, as in the demo
                skipped.append(f"{label} on {spec}: {e}")
                bar.update(k - len(draws))
                continue
            stack = torch.stack(draws)  # (K, B, *shape)
            one, of_mean = psnr(stack[0], clean), psnr(stack.mean(0), clean)
            spread = stack.var(0, unbiased=True).flatten(1).mean(1)
            for i in range(len(seeds)):
                rows.append(
                    dict(
                        task=spec,
                        sampler=label,
                        image=indices[i],
                        seed=seeds[i],
                        psnr_one=float(one[i]),
                        psnr_mean=float(of_mean[i]),
                        spread=float(spread[i]),
                        seconds_per_sample=seconds / (k * len(seeds)),
                    )
                )
    bar.close()
    summary, gaps = _summarise(rows), _gaps(rows, config)
    return {"config": asdict(config), "rows": rows, "summary": summary, "gaps": gaps, "skipped": skipped}


def _summarise(rows: list[dict]) -> list[dict]:
    out = []
    for task, sampler in dict.fromkeys((r["task"], r["sampler"]) for r in rows):
        rs = [r for r in rows if (r["task"], r["sampler"]) == (task, sampler)]
        entry = dict(task=task, sampler=sampler, images=len(rs), seconds_per_sample=rs[0]["seconds_per_sample"])
        for key in ("psnr_one", "psnr_mean", "spread"):
            entry[key], entry[key + "_ci95"] = mean_ci95([r[key] for r in rs])
        out.append(entry)
    return out


def _gaps(rows: list[dict], config: SpreadConfig) -> list[dict]:
    """Paired per digit: row minus reference, for one sample and for the mean of K."""
    by = {(r["task"], r["sampler"], r["image"]): r for r in rows}
    out = []
    for task in config.demo.tasks:
        for row, ref in config.compare:
            mine = [key for key in by if key[:2] == (task, row) and (task, ref, key[2]) in by]
            pairs = [(by[key], by[(task, ref, key[2])]) for key in mine]
            if not pairs:
                continue
            entry = dict(task=task, sampler=row, reference=ref)
            for key in ("psnr_one", "psnr_mean"):
                entry[key], entry[key + "_ci95"] = mean_ci95([a[key] - b[key] for a, b in pairs])
            # a point estimate for a PSNR-seeking user: the row's mean of K against ONE reference sample
            entry["mean_vs_one"], entry["mean_vs_one_ci95"] = mean_ci95(
                [a["psnr_mean"] - b["psnr_one"] for a, b in pairs]
            )
            out.append(entry)
    return out


def format_spread(summary: list[dict], samples: int) -> str:
    return text_table(
        [
            text("task", 21, "task"),
            text("sampler", 14, "sampler"),
            number("one PSNR", 8, "psnr_one", ".2f"),
            interval("± 95%", 6, "psnr_one_ci95", 2),
            number(f"mean-of-{samples}", 10, "psnr_mean", ".2f"),
            interval("± 95%", 6, "psnr_mean_ci95", 2),
            number("spread", 8, "spread", ".5f"),
            number("s/sample", 8, "seconds_per_sample", ".3f"),
        ],
        summary,
    )


def format_spread_gaps(gaps: list[dict], samples: int) -> str:
    mean = f"mean-of-{samples}"
    return text_table(
        [
            text("task", 21, "task"),
            text("sampler", 14, "sampler"),
            text("minus", 12, "reference"),
            number("one dB", 7, "psnr_one", "+.2f"),
            interval("± 95%", 6, "psnr_one_ci95", 2),
            number(mean + " dB", 14, "psnr_mean", "+.2f"),
            interval("± 95%", 6, "psnr_mean_ci95", 2),
            number(mean + " vs one", 16, "mean_vs_one", "+.2f"),
            interval("± 95%", 6, "mean_vs_one_ci95", 2),
        ],
        gaps,
    )
