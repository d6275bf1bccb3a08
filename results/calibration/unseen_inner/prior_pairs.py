"""`reference` rows of two sets of `lavps bench calibration` reports, paired per problem (same problems and
seeds): energy score, spread ratio, one-sample PSNR and the coverage at 80 / 90% of each statistic.

    python3 prior_pairs.py BASE.json[,BASE2.json...] NEW.json[,NEW2.json...]
"""

import json
import math
import statistics
import sys

T95 = {23: 2.069, 15: 2.131}  # two-sided 95% t quantiles by degrees of freedom (24 and 16 problems)


def rows(paths: str) -> dict:
    """operator -> the LAVPS auto / reference row, over comma-separated reports."""
    out = {}
    for path in paths.split(","):
        for r in json.load(open(path))["results"]:
            if r["sampler"] in ("lavps", "lavps:reference"):
                out[r["operator"]] = r
    return out


def interval(values: list) -> str:
    t = T95[len(values) - 1]
    return f"{sum(values) / len(values):+.4f} ± {t * statistics.stdev(values) / math.sqrt(len(values)):.4f}"


def coverage(row: dict, statistic: str) -> str:
    levels = {c["level"]: c["coverage"] for c in row["report"]["statistics"][statistic]["coverage"]}
    return f"{levels[0.8]:.3f}/{levels[0.9]:.3f}"


base, new = rows(sys.argv[1]), rows(sys.argv[2])
print("| task | ES base -> new | Δ ES | spread | Δ PSNR(1) | projections | pixels | distance |")
print("|---|---|---|---|---|---|---|---|")
for op, a in new.items():
    b = base[op]
    es_b, es_a = b["report"]["energy_score"], a["report"]["energy_score"]
    d_es = [x - y for x, y in zip(a["report"]["energy_score_per_problem"], b["report"]["energy_score_per_problem"])]
    d_psnr = [x - y for x, y in zip(a["psnr_one_per_problem"], b["psnr_one_per_problem"])]
    cov = " | ".join(f"{coverage(b, s)} -> {coverage(a, s)}" for s in ("projections", "pixels", "distance"))
    print(f"| {op} | {es_b:.4f} -> {es_a:.4f} ({es_a / es_b - 1:+.1%}) | {interval(d_es)} | "
          f"{b['report']['spread_ratio']:.2f} -> {a['report']['spread_ratio']:.2f} | {interval(d_psnr)} | {cov} |")
