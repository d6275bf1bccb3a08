"""Scores of the rows saved by run.py: per task and row, over the problems it ran (paired with LAVPS's default
on the same problems).

    PYTHONPATH=src python results/calibration/energy48/table.py DIR [SCORES.json] > DIR/table.md

SCORES.json (optional): per task and row, the per-problem scores behind the table (the samples stay in DIR).

Columns: PSNR(1) = mean over problems of the mean PSNR of the K samples (each sample's expected one-sample
PSNR); PSNR(mean) = PSNR of the K samples' average (a K-sample MMSE estimate); spread = pooled spread ratio
(1 exact, > 1 samples too close together); beyond = share of truths farther from the K + 1 points' mean than
every sample (distance statistic; nominal 1 / (K + 1)); ES = energy score (RMS units, lower is better: proper,
so over-confidence does not pay); ΔES = row - LAVPS default, paired per problem, mean +- 95% t-interval
(positive: the row is worse than LAVPS); ΔPSNR(1) likewise (positive: the row is ahead of LAVPS).
"""

import json
import os
import sys

import torch

from lavps.evaluation.calibration import CalibrationConfig, energy_score, randomized_ranks, spread_ratio
from lavps.evaluation.stats import mean_ci95
from lavps.metrics import psnr

folder = sys.argv[1]
truth = torch.load(os.path.join(folder, "truth.pt")).float()
runs = [json.loads(line) for line in open(os.path.join(folder, "runs.jsonl"))]
saved = {(r["operator"], r["row"]): r for r in runs}  # the last run of a (task, row) wins


def scores(entry):
    data = torch.load(os.path.join(folder, entry["file"]))
    x = data["samples"]
    n, k = x.shape[:2]
    t = truth[:n]
    one = torch.stack([psnr(x[:, i], t) for i in range(k)], 1).mean(1)
    mean = psnr(x.mean(1), t)
    ranks = randomized_ranks(x, t, CalibrationConfig(statistics=("distance",)))["distance"].ranks[:, 0]
    return dict(
        n=n,
        k=k,
        one=one,
        mean=mean,
        es=energy_score(x, t).float(),
        spread=spread_ratio(x, t),
        beyond=float((ranks == k).double().mean()),
        secs=entry["seconds_per_sample"],
        load=entry["load_average"][0],
    )


def fmt(values):
    m, h = mean_ci95(values.tolist())
    return f"{m:.2f} +- {h:.2f}" if values.abs().max() > 1 else f"{m:.4f} +- {h:.4f}"


per_problem = {}
print(
    "| task | row | problems x K | PSNR(1) | PSNR(mean) | spread | beyond (nominal) | ES | ΔES vs LAVPS "
    "| ΔPSNR(1) vs LAVPS | s/sample | load |"
)
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for task in dict.fromkeys(op for op, _ in saved):
    base = scores(saved[(task, "lavps")]) if (task, "lavps") in saved else None
    for (op, name), entry in saved.items():
        if op != task:
            continue
        s = scores(entry)
        per_problem[f"{task} {name}"] = dict(
            label=entry["label"], problems=s["n"], samples=s["k"], energy_score=s["es"].tolist(),
            psnr_avg=s["one"].tolist(), psnr_mean=s["mean"].tolist(), spread_ratio=s["spread"],
            beyond_all=s["beyond"], seconds_per_sample=s["secs"], load=s["load"],
        )  # fmt: skip
        d_es = d_psnr = ""
        if base is not None and name != "lavps":
            d_es = fmt(s["es"] - base["es"][: s["n"]])
            d_psnr = fmt(s["one"] - base["one"][: s["n"]])
        print(
            f"| {task} | {entry['label']} | {s['n']} x {s['k']} | {fmt(s['one'])} | {fmt(s['mean'])} | "
            f"{s['spread']:.2f} | {s['beyond']:.3f} ({1 / (s['k'] + 1):.3f}) | {fmt(s['es'])} | {d_es} | {d_psnr} | "
            f"{s['secs']:.3f} | {s['load']:.1f} |"
        )
if len(sys.argv) > 2:
    with open(sys.argv[2], "w") as f:
        json.dump(per_problem, f)
