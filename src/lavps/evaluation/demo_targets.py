"""How far each LAVPS row of a demo run is from the samplers it must match, as paired differences.

Every sampler of a demo task restores the same digits from the same observations, so the PSNR
difference between two samplers is paired per digit: its 95% interval is much narrower than the
difference of the two rows' own intervals, and it is the honest way to say whether a gap is real.

The bars are issue 10's: on a family the amortizer was trained on, LAVPS should reach the best of the
slow samplers (DDRM-100, DiffPIR-100, DPS, MGDM-reference; the best by mean PSNR) minus 0.3 dB; on a
family it never saw, MGDM-reference minus 0.5 dB. Seconds are reported as ratios to DDRM-20 and MGDM in
the same run.
"""

from __future__ import annotations

from .stats import mean_ci95
from .table import Column, interval, number, text, text_table, yes_no

__all__ = ["SLOW_ROWS", "LAVPS_ROWS", "BARS", "GAP_GLOSSARY", "paired_gaps", "format_gaps", "gaps_section"]

SLOW_ROWS = ("ddrm-100", "diffpir-100", "dps", "mgdm")
LAVPS_ROWS = ("lavps", "lavps-fast", "lavps-fastest", "lavps-ref")
#: in_distribution -> the allowed PSNR gap (dB) to the reference sampler
BARS = {True: -0.3, False: -0.5}

GAP_GLOSSARY = {
    "vs": "training family: the best of DDRM-100, DiffPIR-100, DPS and MGDM-reference by mean PSNR (picking the "
    "best of four means favours it a little); unseen family: MGDM-reference",
    "gap dB / ±95%": "mean over digits of PSNR(LAVPS row) - PSNR(vs) on the same digit, and its 95% t-interval",
    "bar / met": "the allowed gap (-0.3 dB on training families, -0.5 dB on unseen ones); met: the mean gap is at "
    "or above it (the interval says whether the difference from the bar is more than noise)",
    "x DDRM-20 / x MGDM": "the row's seconds per image over DDRM-20's and MGDM-reference's on the same task, same run",
    "vs MGDM": "the paired PSNR gap to MGDM-reference, the zero-shot sampler LAVPS amortizes (95% interval beside it)",
}


def paired_gaps(rows: list[dict], summary: list[dict]) -> list[dict]:
    """One entry per (prior, task, LAVPS row): the reference sampler, the paired PSNR gap, the seconds ratios and
    the paired gap to MGDM-reference (how much of the zero-shot sampler's quality the amortization keeps).

    rows: the demo's per-image rows (task, sampler, image, psnr, ...); summary: its per-(task, sampler)
    means. A (task, LAVPS row) whose reference sampler did not run is left out.
    """
    means = {(s.get("prior"), s["task"], s["sampler"]): s for s in summary}
    psnr = {(r.get("prior"), r["task"], r["sampler"], r["image"]): r["psnr"] for r in rows}
    out = []
    for prior, task in dict.fromkeys((s.get("prior"), s["task"]) for s in summary):
        in_distribution = next(s["in_distribution"] for s in summary if (s.get("prior"), s["task"]) == (prior, task))
        candidates = SLOW_ROWS if in_distribution else ("mgdm",)
        ran = [c for c in candidates if (prior, task, c) in means]
        if not ran:
            continue
        reference = max(ran, key=lambda c: means[(prior, task, c)]["psnr"])
        for row in LAVPS_ROWS:
            if (prior, task, row) not in means:
                continue
            gap, ci, images = _paired(psnr, (prior, task), row, reference)
            has_mgdm = (prior, task, "mgdm") in means
            to_mgdm, to_mgdm_ci, _ = _paired(psnr, (prior, task), row, "mgdm") if has_mgdm else (None, None, 0)
            seconds = means[(prior, task, row)]["seconds_per_image"]
            out.append(
                dict(
                    prior=prior,
                    task=task,
                    in_distribution=in_distribution,
                    sampler=row,
                    reference=reference,
                    gap=gap,
                    gap_ci95=ci,
                    bar=BARS[in_distribution],
                    met=gap >= BARS[in_distribution],
                    gap_to_mgdm=to_mgdm,
                    gap_to_mgdm_ci95=to_mgdm_ci,
                    x_ddrm20=_ratio(seconds, means.get((prior, task, "ddrm-20"))),
                    x_mgdm=_ratio(seconds, means.get((prior, task, "mgdm"))),
                    images=images,
                )
            )
    return out


def _paired(psnr: dict, key: tuple, row: str, other: str) -> tuple[float, float, int]:
    """(mean, 95% half-width, count) of PSNR(row) - PSNR(other) over the digits both restored;
    key: (prior, task)."""
    prior, task = key
    images = [i for (p, t, s, i) in psnr if (p, t, s) == (prior, task, row) and (prior, task, other, i) in psnr]
    return (*mean_ci95([psnr[(prior, task, row, i)] - psnr[(prior, task, other, i)] for i in images]), len(images))


def _ratio(seconds: float, other: dict | None) -> float | None:
    return None if other is None or other["seconds_per_image"] <= 0 else seconds / other["seconds_per_image"]


def format_gaps(gaps: list[dict]) -> str:
    """A plain-text table of `paired_gaps`: gap +- paired 95% interval, bar, met, seconds ratios, and the
    paired gap to MGDM-reference (the zero-shot sampler LAVPS amortizes)."""
    to_mgdm = Column("vs MGDM", 7, lambda g: "n/a" if g["gap_to_mgdm"] is None else format(g["gap_to_mgdm"], "+.2f"))
    prior = [text("prior", 9, "prior")] if len({g.get("prior") for g in gaps}) > 1 else []
    return text_table(
        [
            *prior,
            text("task", 20, "task"),
            yes_no("ID", 3, "in_distribution"),
            text("sampler", 13, "sampler"),
            text("vs", 11, "reference"),
            number("gap dB", 7, "gap", "+.2f"),
            interval("±95%", 5, "gap_ci95", 2),
            number("bar", 5, "bar", "+.1f"),
            yes_no("met", 4, "met"),
            interval("x DDRM-20", 9, "x_ddrm20", 2),
            interval("x MGDM", 7, "x_mgdm", 3),
            to_mgdm,
            interval("±95%", 5, "gap_to_mgdm_ci95", 2),
        ],
        gaps,
    )


def gaps_section(gaps: list[dict]) -> list[str]:
    """The report.md lines of the gaps: a heading, the table and its glossary."""
    return [
        "Gaps to the samplers LAVPS must match (PSNR, paired per digit: same digits, operators and noise):",
        "",
        "```",
        format_gaps(gaps),
        "```",
        "",
        *[f"- **{k}**: {v}" for k, v in GAP_GLOSSARY.items()],
        "",
    ]
