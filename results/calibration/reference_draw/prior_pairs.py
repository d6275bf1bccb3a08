"""`reference` rows of two sets of `lavps bench calibration` reports, paired per problem (same problems and
seeds): energy score, spread ratio, one-sample PSNR and the coverage at 80 / 90% of each statistic.

    python3 prior_pairs.py BASE.json[,BASE2.json...] NEW.json[,NEW2.json...]

prior_table.py and tally.py take its helpers.
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


def paired(after: list, before: list) -> tuple[float, float]:
    """Mean difference and its 95% t-interval half-width."""
    d = [a - b for a, b in zip(after, before)]
    return sum(d) / len(d), T95[len(d) - 1] * statistics.stdev(d) / math.sqrt(len(d))


def interval(after: list, before: list) -> str:
    mean, half = paired(after, before)
    return f"{mean:+.4f} ± {half:.4f}"


def coverage(row: dict, statistic: str, sep: str = "/") -> str:
    levels = {c["level"]: c["coverage"] for c in row["report"]["statistics"][statistic]["coverage"]}
    return f"{levels[0.8]:.3f}{sep}{levels[0.9]:.3f}"


def main(base_paths: str, new_paths: str) -> None:
    base, new = rows(base_paths), rows(new_paths)
    print("| task | ES base -> new | Δ ES | spread | Δ PSNR(1) | projections | pixels | distance |")
    print("|---|---|---|---|---|---|---|---|")
    for op, a in new.items():
        b = base[op]
        es_b, es_a = b["report"]["energy_score"], a["report"]["energy_score"]
        d_es = interval(a["report"]["energy_score_per_problem"], b["report"]["energy_score_per_problem"])
        d_psnr = interval(a["psnr_one_per_problem"], b["psnr_one_per_problem"])
        cov = " | ".join(f"{coverage(b, s)} -> {coverage(a, s)}" for s in ("projections", "pixels", "distance"))
        print(f"| {op} | {es_b:.4f} -> {es_a:.4f} ({es_a / es_b - 1:+.1%}) | {d_es} | "
              f"{b['report']['spread_ratio']:.2f} -> {a['report']['spread_ratio']:.2f} | {d_psnr} | {cov} |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
