"""Paired gaps of a demo run's rows on the tasks given (default: its non-linear ones), from its metrics.csv:
per digit, a row's PSNR minus MGDM-reference's and minus the better of DPS / MGDM-reference (the row with the
higher mean PSNR on that task), mean +- 95% t-interval over the digits; seconds as a ratio of MGDM-reference's
in the same run; on phase retrieval the same for the PSNR to the best-aligned copy of x* (mode-aware) and the
share of samples in each mode class.

    python scripts/demo_gaps.py results/demo_nonlinear/metrics.csv
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict

from lavps.evaluation.phase_modes import MODE_CLASSES
from lavps.evaluation.stats import mean_ci95

PEERS = ("dps", "mgdm")


def gaps(rows: list[dict], key: str, tasks: list[str]) -> list[str]:
    out = []
    for task in tasks:
        by = defaultdict(dict)
        for r in rows:
            if r["task"] == task and r[key] not in ("", None):
                by[r["sampler"]][r["image"]] = r
        if "mgdm" not in by:
            continue
        means = {p: sum(float(r[key]) for r in by[p].values()) / len(by[p]) for p in PEERS if p in by}
        best = max(means, key=means.get)
        ref_s = sum(float(r["seconds_per_image"]) for r in by["mgdm"].values())
        for label, got in by.items():
            digits = sorted(got)
            mean = sum(float(got[d][key]) for d in digits) / len(digits)
            g_m, c_m = mean_ci95([float(got[d][key]) - float(by["mgdm"][d][key]) for d in digits])
            g_b, c_b = mean_ci95([float(got[d][key]) - float(by[best][d][key]) for d in digits])
            ratio = sum(float(got[d]["seconds_per_image"]) for d in digits) / ref_s
            line = (
                f"{task:8s} {key:12s} {label:14s} {mean:6.2f}  vs mgdm {g_m:+6.2f} +- {c_m:5.2f}  "
                f"vs best({best}) {g_b:+6.2f} +- {c_b:5.2f}  s ratio {ratio:.3f}x"
            )
            if got[digits[0]].get("mode"):
                modes = [got[d]["mode"] for d in digits]
                line += "  modes " + " / ".join(f"{modes.count(m) / len(modes):.2f}" for m in MODE_CLASSES)
            out.append(line)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metrics")
    parser.add_argument("--tasks", default="jpeg:10,phase:2,jpeg:25,hdr:2")
    args = parser.parse_args()
    with open(args.metrics) as f:
        rows = list(csv.DictReader(f))
    tasks = args.tasks.split(",")
    print(f"{'task':8s} {'metric':12s} {'row':14s} {'mean':>6s}  (paired per digit, mean +- 95% t-interval)")
    for line in gaps(rows, "psnr", tasks) + gaps(rows, "aligned_psnr", ["phase:2"]):
        print(line)


if __name__ == "__main__":
    main()
