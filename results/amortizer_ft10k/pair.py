"""paired PSNR gap (B - A) per task, mean +- 95% t-interval over problems, and both rows' coverages."""
import json, sys
from lavps.evaluation.stats import mean_ci95
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
for task in a:
    if task not in b: continue
    d = [y - x for x, y in zip(a[task]["psnr_each"], b[task]["psnr_each"])]
    m, ci = mean_ci95(d)
    print(f"{task:18s} A {a[task]['psnr']:.2f} B {b[task]['psnr']:.2f}  B-A {m:+.2f} +- {ci:.2f} (n={len(d)})")
    for k in a[task]["coverage"]:
        print(f"   {k:11s} A 50/80/90/95 {a[task]['coverage'][k]}  B {b[task]['coverage'][k]}")
