"""Prior-draw rows of `reference`: mean-field draw (kept) against the linearised one, paired per problem.

    python prior_table.py        (reads prior/*.json: `lavps bench calibration` reports, run.sh)
"""

import json
import math
import statistics
from pathlib import Path

HERE = Path(__file__).resolve().parent / "prior"
PAIRS = [("trained_ref", "trained_reflin"), ("unseen_ref", "reflin"), ("more_a_diag", "more_a_lin"), ("more_b_diag", "more_b_lin")]
# two-sided 95% t quantiles for n - 1 degrees of freedom (24 and 16 problems)
T95 = {23: 2.069, 15: 2.131}


def rows(name: str) -> dict:
    """operator -> the LAVPS auto / reference row of one report."""
    out = json.loads((HERE / f"{name}.json").read_text())["results"]
    return {r["operator"]: r for r in out if r["sampler"] in ("lavps", "lavps:reference")}


def paired(after: list, before: list) -> tuple[float, float]:
    """Mean difference and its 95% t-interval half-width."""
    d = [a - b for a, b in zip(after, before)]
    return sum(d) / len(d), T95[len(d) - 1] * statistics.stdev(d) / math.sqrt(len(d))


def coverage(row: dict, statistic: str) -> str:
    levels = {c["level"]: c["coverage"] for c in row["report"]["statistics"][statistic]["coverage"]}
    return f"{levels[0.8]:.3f} / {levels[0.9]:.3f}"


print("| task | draw | projections 80/90 | pixels 80/90 | distance 80/90 | spread | ES | Δ ES (paired) | PSNR(1) | Δ PSNR(1) |")
print("|---|---|---|---|---|---|---|---|---|---|")
for before_name, after_name in PAIRS:
    before, after = rows(before_name), rows(after_name)
    for op, b in before.items():
        a = after[op]
        es, es_ci = paired(a["report"]["energy_score_per_problem"], b["report"]["energy_score_per_problem"])
        ps, ps_ci = paired(a["psnr_one_per_problem"], b["psnr_one_per_problem"])
        for label, r, delta in (("diagonal (kept)", b, ""), ("linearised", a, f"{es:+.4f} ± {es_ci:.4f}")):
            stats = " | ".join(coverage(r, s) for s in ("projections", "pixels", "distance"))
            dp = f"{ps:+.2f} ± {ps_ci:.2f}" if delta else ""
            rep = r["report"]
            print(
                f"| {op} | {label} | {stats} | {rep['spread_ratio']:.2f} | {rep['energy_score']:.4f} | {delta} | "
                f"{r['psnr_one']:.2f} | {dp} |"
            )
