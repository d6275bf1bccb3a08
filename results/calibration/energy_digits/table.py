"""Table of rows.jsonl (run.py): per task and row, over the 20 real digits, paired with LAVPS's default.

    PYTHONPATH=src python results/calibration/energy_digits/table.py rows.jsonl > table.md

ES = energy score of the K samples against the real digit (RMS units, lower is better); ΔES = row - LAVPS
(positive: the row is worse); PSNR(1) = sample 0's PSNR (the frontier's own number); PSNR(avg) = mean over
the K samples of their PSNR; PSNR(mean) = PSNR of the K samples' average; spread = pooled spread ratio
(> 1: the samples sit closer together than their distance to the digit says they should); s/sample: this
run, comparable only within a task and under one load.
"""
import json
import sys

from lavps.evaluation.stats import mean_ci95

rows = [json.loads(line) for line in open(sys.argv[1])]
by = {(r["task"], r["row"]): r for r in rows}


def pm(values, digits=4):
    m, h = mean_ci95(values)
    return f"{m:.{digits}f} +- {h:.{digits}f}"


print("| task | row | K | ES | ΔES vs LAVPS | PSNR(1) | PSNR(avg) | PSNR(mean) | spread | s/sample |")
print("|---|---|---|---|---|---|---|---|---|---|")
for task in dict.fromkeys(r["task"] for r in rows):
    base = by.get((task, "lavps"))
    for (t, label), r in by.items():
        if t != task:
            continue
        d_es = ""
        if base is not None and label != "lavps":
            d_es = pm([a - b for a, b in zip(r["energy_score"], base["energy_score"], strict=True)])
        avg = [sum(col) / len(col) for col in zip(*r["psnr"], strict=True)]
        print(f"| {task} | {label} | {r['samples']} | {pm(r['energy_score'])} | {d_es} | {pm(r['psnr'][0], 2)} | "
              f"{pm(avg, 2)} | {pm(r['psnr_mean'], 2)} | {r['spread_ratio']:.2f} | {r['seconds_per_sample']:.3f} |")
