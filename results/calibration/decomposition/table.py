"""Table of decomposition/run.py's rows: per task, each row's energy score, paired difference to LAVPS's
default (95% t-interval over problems), one-sample PSNR, spread and seconds.

    python results/calibration/decomposition/table.py results/calibration/decomposition/*.jsonl
"""

import json
import statistics
import sys

T975 = {11: 2.201, 23: 2.069, 47: 2.012}  # t quantiles for n - 1 degrees of freedom

print("| task | row | ES | ΔES vs default (95%) | PSNR(1) | spread | denoiser passes (fw + bw) | s/sample (load) |")
print("|---|---|---|---|---|---|---|---|")
for path in sys.argv[1:]:
    rows = [json.loads(line) for line in open(path)]
    base = next(r for r in rows if r["row"] == "lavps")
    for r in rows:
        d = [a - b for a, b in zip(r["energy"], base["energy"], strict=True)]
        half = T975[len(d) - 1] * statistics.stdev(d) / len(d) ** 0.5 if r is not base else 0.0
        delta = "" if r is base else f"{statistics.mean(d):+.4f} ± {half:.4f}"
        passes = f"{r['forwards_per_path']:.0f} + {r['backwards_per_path']:.0f}" if "forwards_per_path" in r else "-"
        print(f"| {r['operator']} | {r['row']} | {statistics.mean(r['energy']):.4f} | {delta} | "
              f"{statistics.mean(r['psnr_each']):.2f} | {r['spread']:.2f} | {passes} | "
              f"{r['seconds_per_sample']:.2f} ({r['load']:.1f}) |")  # fmt: skip
