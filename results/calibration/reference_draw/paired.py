"""Rows of digits.py paired per digit against each task's first row: energy score (ES), spread ratio, one-sample
PSNR (sample 0, the demo's own), PSNR over all K samples and of their mean, seconds per sample.

    python3 paired.py ROWS.jsonl [...]
"""

import json
import math
import statistics
import sys

T95 = {7: 2.365, 11: 2.201, 15: 2.131, 19: 2.093, 23: 2.069, 47: 2.012}  # t quantiles by degrees of freedom


def interval(diffs: list) -> tuple[float, float]:
    """Mean and 95% t-interval half-width."""
    n = len(diffs)
    return sum(diffs) / n, T95.get(n - 1, 1.96) * statistics.stdev(diffs) / math.sqrt(n)


def mean(values: list) -> float:
    return sum(values) / len(values)


rows = [json.loads(line) for name in sys.argv[1:] for line in open(name)]
for task in dict.fromkeys(r["task"] for r in rows):
    mine = [r for r in rows if r["task"] == task]
    base = mine[0]
    print(f"== {task} (paired against {base['row']})")
    for r in mine:
        es, one = r["energy_score"], r["psnr"][0]
        d_es = interval([a - b for a, b in zip(es, base["energy_score"])])
        d_one = interval([a - b for a, b in zip(one, base["psnr"][0])])
        every = mean([mean(p) for p in r["psnr"]])
        print(
            f"{r['row']:50s} ES {mean(es):.4f} ({d_es[0]:+.4f} ± {d_es[1]:.4f}) spread {r['spread_ratio']:.2f}"
            f"  PSNR(1) {mean(one):.2f} ({d_one[0]:+.2f} ± {d_one[1]:.2f}) all {every:.2f}"
            f" mean-of-K {mean(r['psnr_mean']):.2f}  s/sample {r['seconds_per_sample']:.3f}"
        )
