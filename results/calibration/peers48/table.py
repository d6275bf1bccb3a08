"""Paired one-sample PSNR table from rows.jsonl (run.py): per task, LAVPS's default minus each peer, per problem,
mean +- 95% t-interval over the 48 problems; LAVPS's sample 0 (as the peers' one sample) and the mean over its
15 samples (its expected one-sample PSNR, less noisy).

    python results/calibration/peers48/table.py results/calibration/peers48/rows.jsonl > table.md
"""
import json
import sys

from lavps.evaluation.stats import mean_ci95

rows = [json.loads(line) for line in open(sys.argv[1])]
print("| task | row | one-sample PSNR | LAVPS sample 0 - row | LAVPS mean of 15 - row | s/sample | load |")
print("|---|---|---|---|---|---|---|")
for task in dict.fromkeys(r["operator"] for r in rows):
    mine = [r for r in rows if r["operator"] == task]
    lavps = next(r for r in mine if r["sampler"].startswith("lavps"))
    for r in mine:
        one, one_ci = mean_ci95(r["psnr_first"])
        cells = [f"{one:.2f} +- {one_ci:.2f}"]
        if r is lavps:
            mean, mean_ci = mean_ci95(lavps["psnr_mean"])
            cells += ["", f"(mean of 15: {mean:.2f} +- {mean_ci:.2f})"]
        else:
            for key in ("psnr_first", "psnr_mean"):
                gap, ci = mean_ci95([a - b for a, b in zip(lavps[key], r["psnr_first"], strict=True)])
                cells.append(f"{gap:+.2f} +- {ci:.2f}")
        load = r["load_average"][0]
        print(f"| {task} | {r['sampler']} | {' | '.join(cells)} | {r['seconds_per_sample']:.3f} | {load:.1f} |")
