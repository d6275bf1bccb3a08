"""Pool the paired energy-score gap of `fastest` (box's card) against `reference` over five disjoint sets of 20
real test digits (digit offsets 0, 10, 20, 30, 40), for center:0.35 and for box:0.3:0.5 itself.

    python3 pooled.py
"""
import csv
import json
import math
import statistics

T95_99 = 1.984  # t quantile, 99 degrees of freedom


def rows(name):
    return [json.loads(line) for line in open(name)]


def pick(name, task, row):
    return next(r for r in rows(name) if r["task"] == task and r["row"] == row)


def demo_es(path, task):  # results/demo_*_20/metrics.csv: per digit energy score of the `lavps` row
    got = [r for r in csv.DictReader(open(path)) if r["task"] == task and r["sampler"] == "lavps"]
    return [float(r["energy_score"]) for r in sorted(got, key=lambda r: int(r["image"]))]


FAST_CENTER = "lavps-fastest+draw=diagonal+temperature=2.5"
sets = {
    "center:0.35": {
        0: (demo_es("../../demo_covered_20/metrics.csv", "center:0.35"),
            demo_es("../../demo_energy_20/metrics.csv", "center:0.35")),
        30: (pick("digits_tuning.jsonl", "center:0.35", FAST_CENTER)["energy_score"],
             pick("digits_tuning.jsonl", "center:0.35", "lavps-ref")["energy_score"]),
        **{o: (pick(f"digits_offset{o}_fastest.jsonl", "center:0.35", "lavps-fastest")["energy_score"],
               pick(f"digits_offset{o}.jsonl", "center:0.35", "lavps-ref")["energy_score"]) for o in (10, 20, 40)},
    },
    "box:0.3:0.5": {
        0: (pick("digits_reported_box.jsonl", "box:0.3:0.5", "lavps")["energy_score"],
            pick("digits_reported_box.jsonl", "box:0.3:0.5", "lavps-ref")["energy_score"]),
        30: (pick("digits_tuning_box.jsonl", "box:0.3:0.5", "lavps")["energy_score"],
             pick("digits_tuning_box.jsonl", "box:0.3:0.5", "lavps-ref")["energy_score"]),
        **{o: (pick(f"digits_offset{o}.jsonl", "box:0.3:0.5", "lavps")["energy_score"],
               pick(f"digits_offset{o}.jsonl", "box:0.3:0.5", "lavps-ref")["energy_score"]) for o in (10, 20, 40)},
    },
}
print("| task | digit offset | ES fastest | ES reference | ratio |")
print("|---|---|---|---|---|")
for task, by_offset in sets.items():
    diffs, fast_all, ref_all = [], [], []
    for offset in sorted(by_offset):
        fast, ref = by_offset[offset]
        diffs += [a - b for a, b in zip(fast, ref, strict=True)]
        fast_all += fast
        ref_all += ref
        print(f"| {task} | {offset} | {sum(fast) / len(fast):.4f} | {sum(ref) / len(ref):.4f} | {sum(fast) / sum(ref):.3f} |")
    n = len(diffs)
    half = T95_99 * statistics.stdev(diffs) / math.sqrt(n)
    print(f"| {task} | pooled ({n} digits) | {sum(fast_all) / n:.4f} | {sum(ref_all) / n:.4f} | "
          f"{sum(fast_all) / sum(ref_all):.3f} (gap {sum(diffs) / n:+.4f} +- {half:.4f}) |")
