"""The fast end of the demo's quality/time frontier: is LAVPS's default the best point at DDRM-20's cost?

Per (prior, task): LAVPS's default row (`lavps`, preset auto) against the best other row of the fast tier
and against the best slow sampler, both differences paired per digit (same digits, observations and
noise). The fast tier is set by network passes, not by measured seconds: a row is fast when it runs at
most `FAST_FORWARDS` denoiser forwards and no backward pass per sample (DDRM-20's budget; LAVPS `fastest`
runs 19 plus amortizer passes). Seconds measured on a shared machine move with its load (the same
setting can read 0.12 and 0.26 s/img within one run), passes do not; the seconds are shown beside.

Two scores rank the rows (`SCORES`): the PSNR of one sample per digit, and the energy score of several
samples per digit (the demo's `--mean-images` digits, `--mean-samples` samples each). One-sample PSNR
rewards samples squeezed towards the posterior mean, so an over-confident sampler can lead it; the energy
score is strictly proper (lowest in expectation for the law of x* given y), so it ranks posteriors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .demo_targets import SLOW_ROWS
from .stats import mean_ci95
from .table import Column, interval, number, text, text_table, yes_no

__all__ = [
    "FAST_FORWARDS",
    "FRONTIER_GLOSSARY",
    "SCORES",
    "Score",
    "all_frontiers",
    "fast_frontier",
    "format_frontier",
    "frontier_section",
]

FAST_FORWARDS = 20
DEFAULT_ROW = "lavps"


@dataclass(frozen=True)
class Score:
    """A per-digit score the frontier ranks by: its key in the demo's rows and summary, its name in the
    tables, whether higher is better and the decimals its numbers print with."""

    key: str
    name: str
    higher_is_better: bool
    digits: int

    @property
    def spec(self) -> str:
        return f".{self.digits}f"

    def best(self, entries: list[dict]) -> dict | None:
        scored = [e for e in entries if e.get(self.key) is not None]
        pick = max if self.higher_is_better else min
        return pick(scored, key=lambda e: e[self.key], default=None)

    def at_least_as_good(self, a: float, b: float) -> bool:
        return a >= b if self.higher_is_better else a <= b

    def verdict(self, gap: float | None, half_width: float | None) -> str:
        """The paired gap read by its 95% interval: "ahead" / "behind" where the interval excludes 0, "level"
        where it holds 0; "n/a" without an interval (one digit) or a gap (no rival)."""
        if gap is None or half_width is None or not math.isfinite(half_width):
            return "n/a"
        ahead = gap if self.higher_is_better else -gap
        return "ahead" if ahead > half_width else "behind" if ahead < -half_width else "level"


SCORES = {
    "psnr": Score("psnr", "PSNR", True, 2),
    "energy_score": Score("energy_score", "ES", False, 4),
}

FRONTIER_GLOSSARY = {
    "default": "LAVPS's default row (preset auto: fastest on the amortizer's linear training families, reference "
    "elsewhere): its score, seconds per image and denoiser forwards / backwards per sample",
    "fast rival": f"the best other row with at most {FAST_FORWARDS} denoiser forwards and no backward pass "
    "(DDRM-20's budget; LAVPS rows other than the default excluded), by the table's score",
    "top": "the default is in the fast tier and its score is at least as good as the fast rival's",
    "vs rival": "the paired gap to the fast rival read by its 95% interval: ahead / behind (the interval excludes 0), "
    "level (it holds 0); outside: the default ran beyond the fast tier",
    "slow best": "the best of DDRM-100, DiffPIR-100, DPS and MGDM-reference by the table's score",
    "Δ / ±95%": "mean over digits of score(default) - score(other row) on the same digit, and its 95% t-interval "
    "(PSNR: > 0 the default is ahead; ES: < 0 the default is ahead)",
}


def _fast(entry: dict) -> bool:
    return entry["denoiser_forwards"] <= FAST_FORWARDS and entry["denoiser_backwards"] == 0


def fast_frontier(rows: list[dict], summary: list[dict], score: str = "psnr") -> list[dict]:
    """One entry per (prior, task) where the default row has the score: its value, seconds and passes, the
    fast rival, the best slow sampler and the paired gaps to both (`score`: a key of SCORES)."""
    sc = SCORES[score]
    by_task: dict[tuple, dict[str, dict]] = {}
    for s in summary:
        by_task.setdefault((s.get("prior"), s["task"]), {})[s["sampler"]] = s
    values = {
        (r.get("prior"), r["task"], r["sampler"], r["image"]): r[sc.key] for r in rows if r.get(sc.key) is not None
    }
    out = []
    for (prior, task), entries in by_task.items():
        default = entries.get(DEFAULT_ROW)
        if default is None or default.get(sc.key) is None:
            continue
        rival = sc.best([s for name, s in entries.items() if _fast(s) and not name.startswith("lavps")])
        best_slow = sc.best([entries[name] for name in SLOW_ROWS if name in entries])
        entry = dict(
            prior=prior,
            task=task,
            score=sc.key,
            in_distribution=default["in_distribution"],
            value=default[sc.key],
            seconds_per_image=default["seconds_per_image"],
            passes=f"{default['denoiser_forwards']}/{default['denoiser_backwards']}",
            fast=_fast(default),
            top=_fast(default) and (rival is None or sc.at_least_as_good(default[sc.key], rival[sc.key])),
        )
        for key, other in (("rival", rival), ("slow", best_slow)):
            entry[key] = None if other is None else other["sampler"]
            entry[f"{key}_value"] = None if other is None else other[sc.key]
            gap = _paired(values, prior, task, other["sampler"]) if other is not None else (None, None)
            entry[f"gap_{key}"], entry[f"gap_{key}_ci95"] = gap
        entry["verdict"] = sc.verdict(entry["gap_rival"], entry["gap_rival_ci95"]) if entry["fast"] else "outside"
        out.append(entry)
    return out


def _paired(values: dict, prior, task: str, other: str) -> tuple[float, float]:
    diffs = [
        v - values[(prior, task, other, i)]
        for (p, t, s, i), v in values.items()
        if (p, t, s) == (prior, task, DEFAULT_ROW) and (prior, task, other, i) in values
    ]
    return mean_ci95(diffs)


def format_frontier(frontier: list[dict]) -> str:
    """The frontier table of one score: the default, the fast rival and the best slow sampler per task,
    gaps paired per digit."""
    sc = SCORES[frontier[0]["score"]] if frontier else SCORES["psnr"]
    width = sc.digits + 4  # sign, two integer digits and the point

    def value(key: str) -> Column:
        return Column(sc.name, width, lambda r: "n/a" if r[key] is None else format(r[key], sc.spec))

    def gap(key: str) -> Column:
        return Column("Δ", width, lambda r: "n/a" if r[key] is None else format(r[key], "+" + sc.spec))

    prior = [text("prior", 9, "prior")] if len({f.get("prior") for f in frontier}) > 1 else []
    columns = [
        *prior,
        text("task", 20, "task"),
        yes_no("ID", 3, "in_distribution"),
        number("default", 7, "value", sc.spec),
        number("s/img", 5, "seconds_per_image", ".2f"),
        text("fwd/bwd", 7, "passes", ">"),
        Column("fast rival", 11, lambda r: r["rival"] or "n/a", "<"),
        value("rival_value"),
        gap("gap_rival"),
        interval("±95%", width - 1, "gap_rival_ci95", sc.digits),
        yes_no("top", 3, "top"),
        text("vs rival", 8, "verdict"),
        Column("slow best", 11, lambda r: r["slow"] or "n/a", "<"),
        value("slow_value"),
        gap("gap_slow"),
        interval("±95%", width - 1, "gap_slow_ci95", sc.digits),
    ]
    table = text_table(columns, frontier)
    tops = sum(f["top"] for f in frontier)
    counts = [(sum(f["verdict"] == v for f in frontier), v) for v in ("ahead", "level", "behind", "outside", "n/a")]
    reading = ", ".join(f"{v} on {n}" for n, v in counts if n)
    return (
        f"{table}\nby {sc.name}, the default is the top point of the fast tier on {tops} of {len(frontier)} tasks "
        f"(against the fast rival by the paired 95% interval: {reading})"
    )


def frontier_section(frontiers: dict[str, list[dict]]) -> list[str]:
    """The report.md lines of the frontier: a heading, one table per score that ran, and the glossary."""
    lines = [f"The fast end of the frontier (fast tier: at most {FAST_FORWARDS} denoiser forwards, no backward pass):"]
    for score, frontier in frontiers.items():
        if not frontier:
            continue
        head = (
            "by one-sample PSNR:"
            if score == "psnr"
            else "by the energy score of the mean-PSNR digits' samples (proper: over-confidence does not pay):"
        )
        lines += ["", head, "", "```", format_frontier(frontier), "```"]
    return [*lines, "", *[f"- **{k}**: {v}" for k, v in FRONTIER_GLOSSARY.items()], ""]


def all_frontiers(rows: list[dict], summary: list[dict]) -> dict[str, list[dict]]:
    """{score: fast_frontier} for every score of SCORES (an empty list where no row has it)."""
    return {score: fast_frontier(rows, summary, score) for score in SCORES}
