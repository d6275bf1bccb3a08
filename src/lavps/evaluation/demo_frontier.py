"""The fast end of the demo's quality/time frontier: is LAVPS's default the best point at DDRM-20's cost?

Per (prior, task): LAVPS's default row (`lavps`, preset auto) against the best other row of the fast tier
and against the best slow sampler, both PSNR differences paired per digit (same digits, observations and
noise). The fast tier is set by network passes, not by measured seconds: a row is fast when it runs at
most `FAST_FORWARDS` denoiser forwards and no backward pass per sample (DDRM-20's budget; LAVPS `fastest`
runs 19 plus amortizer passes). Seconds measured on a shared machine move with its load (the same
setting can read 0.12 and 0.26 s/img within one run), passes do not; the seconds are shown beside.
"""

from __future__ import annotations

from .demo_targets import SLOW_ROWS
from .stats import mean_ci95
from .table import Column, interval, number, text, text_table, yes_no

__all__ = ["FAST_FORWARDS", "FRONTIER_GLOSSARY", "fast_frontier", "format_frontier", "frontier_section"]

FAST_FORWARDS = 20
DEFAULT_ROW = "lavps"

FRONTIER_GLOSSARY = {
    "default": "LAVPS's default row (preset auto: fastest on the amortizer's linear training families, reference "
    "elsewhere): its PSNR, seconds per image and denoiser forwards / backwards per sample",
    "fast rival": f"the best other row with at most {FAST_FORWARDS} denoiser forwards and no backward pass "
    "(DDRM-20's budget; LAVPS rows other than the default excluded), by mean PSNR",
    "top": "the default is in the fast tier and its mean PSNR is at least the fast rival's",
    "slow best": "the best of DDRM-100, DiffPIR-100, DPS and MGDM-reference by mean PSNR",
    "Δ / ±95%": "mean over digits of PSNR(default) - PSNR(other row) on the same digit, and its 95% t-interval",
}


def _fast(entry: dict) -> bool:
    return entry["denoiser_forwards"] <= FAST_FORWARDS and entry["denoiser_backwards"] == 0


def fast_frontier(rows: list[dict], summary: list[dict]) -> list[dict]:
    """One entry per (prior, task) where the default row ran: its PSNR, seconds and passes, the fast rival,
    the best slow sampler and the paired gaps to both."""
    by_task: dict[tuple, dict[str, dict]] = {}
    for s in summary:
        by_task.setdefault((s.get("prior"), s["task"]), {})[s["sampler"]] = s
    psnr = {(r.get("prior"), r["task"], r["sampler"], r["image"]): r["psnr"] for r in rows}
    out = []
    for (prior, task), entries in by_task.items():
        default = entries.get(DEFAULT_ROW)
        if default is None:
            continue
        rivals = [s for name, s in entries.items() if _fast(s) and not name.startswith("lavps")]
        slow = [entries[name] for name in SLOW_ROWS if name in entries]
        rival = max(rivals, key=lambda s: s["psnr"], default=None)
        best_slow = max(slow, key=lambda s: s["psnr"], default=None)
        entry = dict(
            prior=prior,
            task=task,
            in_distribution=default["in_distribution"],
            psnr=default["psnr"],
            seconds_per_image=default["seconds_per_image"],
            passes=f"{default['denoiser_forwards']}/{default['denoiser_backwards']}",
            fast=_fast(default),
            top=_fast(default) and (rival is None or default["psnr"] >= rival["psnr"]),
        )
        for key, other in (("rival", rival), ("slow", best_slow)):
            entry[key] = None if other is None else other["sampler"]
            entry[f"{key}_psnr"] = None if other is None else other["psnr"]
            gap = _paired(psnr, prior, task, other["sampler"]) if other is not None else (None, None)
            entry[f"gap_{key}"], entry[f"gap_{key}_ci95"] = gap
        out.append(entry)
    return out


def _paired(psnr: dict, prior, task: str, other: str) -> tuple[float, float]:
    diffs = [
        v - psnr[(prior, task, other, i)]
        for (p, t, s, i), v in psnr.items()
        if (p, t, s) == (prior, task, DEFAULT_ROW) and (prior, task, other, i) in psnr
    ]
    return mean_ci95(diffs)


def _num(key: str, spec: str, width: int) -> Column:
    return Column("PSNR", width, lambda r: "n/a" if r[key] is None else format(r[key], spec))


def format_frontier(frontier: list[dict]) -> str:
    """The frontier table: the default, the fast rival and the best slow sampler per task, gaps paired."""
    prior = [text("prior", 9, "prior")] if len({f.get("prior") for f in frontier}) > 1 else []
    columns = [
        *prior,
        text("task", 20, "task"),
        yes_no("ID", 3, "in_distribution"),
        number("default", 7, "psnr", ".2f"),
        number("s/img", 5, "seconds_per_image", ".2f"),
        text("fwd/bwd", 7, "passes", ">"),
        Column("fast rival", 11, lambda r: r["rival"] or "n/a", "<"),
        _num("rival_psnr", ".2f", 6),
        Column("Δ", 6, lambda r: "n/a" if r["gap_rival"] is None else f"{r['gap_rival']:+.2f}"),
        interval("±95%", 5, "gap_rival_ci95", 2),
        yes_no("top", 3, "top"),
        Column("slow best", 11, lambda r: r["slow"] or "n/a", "<"),
        _num("slow_psnr", ".2f", 6),
        Column("Δ", 6, lambda r: "n/a" if r["gap_slow"] is None else f"{r['gap_slow']:+.2f}"),
        interval("±95%", 5, "gap_slow_ci95", 2),
    ]
    table = text_table(columns, frontier)
    tops = sum(f["top"] for f in frontier)
    return f"{table}\nthe default is the top point of the fast tier on {tops} of {len(frontier)} tasks"


def frontier_section(frontier: list[dict]) -> list[str]:
    """The report.md lines of the frontier: a heading, the table and its glossary."""
    return [
        f"The fast end of the frontier (fast tier: at most {FAST_FORWARDS} denoiser forwards, no backward pass):",
        "",
        "```",
        format_frontier(frontier),
        "```",
        "",
        *[f"- **{k}**: {v}" for k, v in FRONTIER_GLOSSARY.items()],
        "",
    ]
