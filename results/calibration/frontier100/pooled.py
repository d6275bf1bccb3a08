"""Pool the frontier (the default `lavps` = auto against DDRM-20) over five disjoint sets of 20 real test digits
(digit offsets 0, 10, 20, 30, 40; 100 digits per task), paired per digit, K = 4 samples per digit.

    python3 pooled.py > pooled.md

PSNR(1): per digit the mean over its K samples of the one-sample PSNR (the same expectation as one sample's,
less noise); the PSNR of the 4-sample mean reads the posterior-mean estimate without the spread; ES: energy score in RMS units (lower is better). Intervals: 95% t over the 100 paired digits.
"""
import json
import math
import statistics
from pathlib import Path

T95 = 1.984  # t quantile, 99 degrees of freedom (100 digits)
OFFSETS = (0, 10, 20, 30, 40)
TASKS = ("motion_blur:9:0.5", "gaussian_blur:9:2.0", "sr:2", "sr:4", "box:0.3:0.5", "pixels:0.2", "center:0.35")


def row(offset, task, name):
    lines = Path(f"digits_offset{offset}.jsonl").read_text().splitlines()
    return next(r for r in map(json.loads, lines) if r["task"] == task and r["row"] == name)


def mean(xs):
    return sum(xs) / len(xs)


def interval(xs):
    return T95 * statistics.stdev(xs) / math.sqrt(len(xs))


def per_digit(task, name):
    rows = [row(o, task, name) for o in OFFSETS]
    psnr = [mean(ps) for r in rows for ps in zip(*r["psnr"])]
    es = [e for r in rows for e in r["energy_score"]]
    mean4 = [p for r in rows for p in r["psnr_mean"]]
    return rows, psnr, es, mean4


print("| task | digits | PSNR(1) default | PSNR(1) DDRM-20 | gap (95%) | ES default | ES DDRM-20 | ES gap (95%) "
      "| PSNR of the 4-sample mean: default / DDRM-20, gap (95%) "
      "| spread default / DDRM-20 | s/sample default / DDRM-20 | offsets where the default's PSNR(1) is ahead |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for task in TASKS:
    lav, p_l, e_l, m_l = per_digit(task, "lavps")
    ddrm, p_d, e_d, m_d = per_digit(task, "ddrm-20")
    m_gap = [a - b for a, b in zip(m_l, m_d, strict=True)]
    gap = [a - b for a, b in zip(p_l, p_d, strict=True)]
    es_gap = [a - b for a, b in zip(e_l, e_d, strict=True)]
    ahead = sum(mean(gap[20 * i:20 * i + 20]) > 0 for i in range(len(OFFSETS)))
    spread = f"{mean([r['spread_ratio'] for r in lav]):.2f} / {mean([r['spread_ratio'] for r in ddrm]):.2f}"
    secs = f"{mean([r['seconds_per_sample'] for r in lav]):.3f} / {mean([r['seconds_per_sample'] for r in ddrm]):.3f}"
    print(f"| {task} | {len(gap)} | {mean(p_l):.2f} | {mean(p_d):.2f} | {mean(gap):+.2f} +- {interval(gap):.2f} | "
          f"{mean(e_l):.4f} | {mean(e_d):.4f} | {mean(es_gap):+.4f} +- {interval(es_gap):.4f} | "
          f"{mean(m_l):.2f} / {mean(m_d):.2f}, {mean(m_gap):+.2f} +- {interval(m_gap):.2f} | {spread} | {secs} | "
          f"{ahead} of {len(OFFSETS)} |")
