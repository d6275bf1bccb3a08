"""Summarise rows.jsonl (run.py) into table.md: per cell (d, d_y) and K, SW / floor (mean and 95% t-interval
over problems, worst problem, problems <= 2x), mode-weight error on multimodal problems at 1000 outputs
(mean / max; problems within 5 points) beside an exact sampler's error at the same count (mean of its
per-problem mean / largest 95th percentile), the particles' final ESS and resamplings per output, and seconds
per 1000 outputs (one process per cell: compare within a cell only).
Usage: PYTHONPATH=src python results/calibration/particles_gmm/table.py [rows.jsonl] > table.md
"""

import json
import sys
from collections import defaultdict
from pathlib import Path

from lavps.evaluation.stats import mean_ci95

path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("rows.jsonl"))
rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
# an exact sampler's own SW / floor per problem (exact_sw_noise.py): the floor is one draw, so the ratio of
# even exact draws strays; a problem is "within noise" when its ratio is <= that 95th percentile
noise_file = Path(__file__).with_name("exact_sw_noise.jsonl")
sw_noise = {}
if noise_file.exists():
    for line in noise_file.read_text().splitlines():
        n = json.loads(line)
        sw_noise[(n["d"], n["dy"], n["seed"])] = n
groups = defaultdict(list)
for r in rows:
    groups[(r["d"], r["dy"], r["K"], r.get("steps", 50))].append(r)

print(
    "| d | d_y | grid N | K | problems | SW / floor (95% CI) | worst | <= 2x | multimodal | "
    "mode err mean / max (points) | <= 5 points | exact sampler's err mean / p95 | "
    "SW within an exact sampler's p95 | final ESS | resamplings | "
    "s / 1000 outputs |"
)
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for (d, dy, k, steps), rs in sorted(groups.items()):
    ratios = [r["sw"] / r["floor"] for r in rs]
    mean, half = mean_ci95(ratios)
    multi = [r for r in rs if r["multimodal"]]
    if multi:
        errs = [100 * r["mode_err"] for r in multi]
        mode = f"{sum(errs) / len(errs):.1f} / {max(errs):.1f}"
        within = f"{sum(e <= 5 for e in errs)}/{len(errs)}"
        noise = [100 * r["exact_mode_err"] for r in multi]
        ref = f"{sum(noise) / len(noise):.1f} / {max(100 * r['exact_mode_err_p95'] for r in multi):.1f}"
    else:
        mode = within = ref = "-"
    known = [r for r in rs if (d, dy, r["seed"]) in sw_noise]
    sw_ok = sum(r["sw"] / r["floor"] <= sw_noise[(d, dy, r["seed"])]["exact_sw_ratio_p95"] for r in known)
    sw_within = f"{sw_ok}/{len(known)}" if known else "-"
    ess = f"{sum(r['final_ess'] for r in rs) / len(rs):.1f}" if k else "-"
    res = f"{sum(r['resamplings'] for r in rs) / len(rs):.1f}" if k else "-"
    secs = sum(1000 * r["seconds"] / r["outputs"] for r in rs) / len(rs)
    label = "0 (plain MGDM)" if k == 0 else str(k)
    print(
        f"| {d} | {dy} | {steps} | {label} | {len(rs)} | {mean:.2f} +- {half:.2f} | {max(ratios):.2f} | "
        f"{sum(x <= 2 for x in ratios)}/{len(rs)} | {len(multi)} | {mode} | {within} | {ref} | {sw_within} | "
        f"{ess} | {res} | {secs:.1f} |"
    )
