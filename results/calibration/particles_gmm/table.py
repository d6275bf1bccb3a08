"""Summarise rows.jsonl (run.py) into table.md: per cell (d, d_y) and run (K, proposal), SW / floor (mean and
95% t-interval over problems, worst problem), mode-weight error on multimodal problems (the exact sampler's
own error with the same number of samples beside it), seconds per problem.
Usage: PYTHONPATH=src python results/calibration/particles_gmm/table.py [rows.jsonl] > table.md
"""

import json
import sys
from collections import defaultdict
from pathlib import Path

from lavps.evaluation.stats import mean_ci95

path = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).with_name("rows.jsonl"))
rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
groups = defaultdict(list)
for r in rows:
    groups[(r["d"], r["dy"], r["K"], r["proposal"])].append(r)

print("| d | d_y | K | proposal | problems | SW / floor (95% CI) | worst | <= 2x | multimodal | mode err mean / max "
      "(points) | exact sampler's mode err mean / max | s / problem |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for (d, dy, k, proposal), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][3] != "twisted" and kv[0][2] > 0, kv[0][2])):
    ratios = [r["sw"] / r["floor"] for r in rs]
    mean, half = mean_ci95(ratios)
    multi = [r for r in rs if r["multimodal"]]
    if multi:
        errs = [100 * r["mode_err"] for r in multi]
        exact = [100 * r["exact_mode_err"] for r in multi]
        mode = f"{sum(errs) / len(errs):.1f} / {max(errs):.1f}"
        ref = f"{sum(exact) / len(exact):.1f} / {max(exact):.1f}"
    else:
        mode = ref = "-"
    secs = sum(r["seconds"] for r in rs) / len(rs)
    label = "plain MGDM" if k == 0 else proposal
    print(f"| {d} | {dy} | {k} | {label} | {len(rs)} | {mean:.2f} +- {half:.2f} | {max(ratios):.2f} | "
          f"{sum(x <= 2 for x in ratios)}/{len(rs)} | {len(multi)} | {mode} | {ref} | {secs:.1f} |")
