"""LAVPS's default with two amortizer cards on the frontier's real digits, paired per digit (energy_digits/run.py
output: the same digits, operators, noise and sample seeds).

    PYTHONPATH=src python pair_digits.py OLD.jsonl NEW.jsonl [ROW]    (ROW: default lavps)

Per task: ES (mean over digits), ΔES = new - old with its 95% t-interval (< 0: the new card is better),
sample 0's PSNR (the frontier's number) and its paired difference, the pooled spread ratio of each.
"""

import json
import sys

from lavps.evaluation.stats import mean_ci95


def load(path, row):
    return {e["task"]: e for e in map(json.loads, open(path)) if e["row"] == row}


old, new = load(sys.argv[1], sys.argv[3] if len(sys.argv) > 3 else "lavps"), load(sys.argv[2], "lavps")
print("| task | ES old | ES new | ΔES (new - old) | PSNR(1) old | PSNR(1) new | ΔPSNR(1) | spread old / new |")
print("|---|---|---|---|---|---|---|---|")
for task, b in new.items():
    if task not in old:  # a row run on fewer tasks
        continue
    a = old[task]
    d_es = mean_ci95([y - x for x, y in zip(a["energy_score"], b["energy_score"], strict=True)])
    d_psnr = mean_ci95([y - x for x, y in zip(a["psnr"][0], b["psnr"][0], strict=True)])
    es_a, es_b = (sum(e["energy_score"]) / len(e["energy_score"]) for e in (a, b))
    p_a, p_b = (sum(e["psnr"][0]) / len(e["psnr"][0]) for e in (a, b))
    print(
        f"| {task} | {es_a:.4f} | {es_b:.4f} | {d_es[0]:+.4f} +- {d_es[1]:.4f} | {p_a:.2f} | {p_b:.2f} | "
        f"{d_psnr[0]:+.2f} +- {d_psnr[1]:.2f} | {a['spread_ratio']:.2f} / {b['spread_ratio']:.2f} |"
    )
