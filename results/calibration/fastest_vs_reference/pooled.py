"""Pool the paired energy-score gap of `auto` (= `fastest` with the card's fit) against `reference` over five
disjoint sets of 20 real test digits (digit offsets 0, 10, 20, 30, 40) on the five training families other than
box (box: ../covered_family/pooled.md).

    python3 pooled.py > pooled.md
"""
import json
import math
import statistics
from pathlib import Path

T95 = 1.984  # t quantile, 99 degrees of freedom (100 digits)
OFFSETS = (0, 10, 20, 30, 40)
TASKS = ("motion_blur:9:0.5", "gaussian_blur:9:2.0", "sr:2", "sr:4", "pixels:0.2")


def row(offset, task, name):
    lines = Path(f"digits_offset{offset}.jsonl").read_text().splitlines()
    return next(r for r in map(json.loads, lines) if r["task"] == task and r["row"] == name)


def mean(xs):
    return sum(xs) / len(xs)


def interval(xs):
    return T95 * statistics.stdev(xs) / math.sqrt(len(xs))


print("| task | digits | ES auto (fastest) | ES reference | ratio | gap (95%) | PSNR(1) auto | PSNR(1) reference "
      "| spread auto / reference | s/sample auto / reference |")
print("|---|---|---|---|---|---|---|---|---|---|")
for task in TASKS:
    fast = [row(o, task, "lavps") for o in OFFSETS]
    ref = [row(o, task, "lavps-ref") for o in OFFSETS]
    es_f = [e for r in fast for e in r["energy_score"]]
    es_r = [e for r in ref for e in r["energy_score"]]
    gaps = [a - b for a, b in zip(es_f, es_r, strict=True)]
    # one-sample PSNR: per digit, the mean over its K samples (psnr is K lists of 20 digits)
    p_f = [mean(ps) for r in fast for ps in zip(*r["psnr"])]
    p_r = [mean(ps) for r in ref for ps in zip(*r["psnr"])]
    spread_f, spread_r = mean([r["spread_ratio"] for r in fast]), mean([r["spread_ratio"] for r in ref])
    sec_f = mean([r["seconds_per_sample"] for r in fast])
    sec_r = mean([r["seconds_per_sample"] for r in ref])
    print(f"| {task} | {len(gaps)} | {mean(es_f):.4f} | {mean(es_r):.4f} | {mean(es_f) / mean(es_r):.3f} | "
          f"{mean(gaps):+.4f} +- {interval(gaps):.4f} | {mean(p_f):.2f} | {mean(p_r):.2f} | "
          f"{spread_f:.2f} / {spread_r:.2f} | {sec_f:.3f} / {sec_r:.3f} |")
