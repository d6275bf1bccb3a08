"""Diagnosis of LAVPS's over-confidence: variants on the same prior draws, same seeds."""
import json, sys, time, math
import torch
torch.set_num_threads(1)
from lavps.api import load_prior, operator, degrade, restore
from lavps.evaluation.calibration_bench import prior_draws, SAMPLE_STRIDE, PROBLEM_SEED_OFFSET
from lavps.evaluation.calibration import calibration_report
from lavps.metrics import psnr

P, STEPS, SPEC, OUT = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
only = sys.argv[5].split(",") if len(sys.argv) > 5 else None
K = 15

VARIANTS = [  # label, sampler, preset, settings, temperature
    ("fastest", "lavps", "fastest", {}, 1.0),
    ("reference", "lavps", "reference", {}, 1.0),
    ("fast", "lavps", "fast", {}, 1.0),
    ("amortized-only", "lavps", "fastest", {"linear_variance": False, "linear_below": 0}, 1.0),
    ("fastest-T2", "lavps", "fastest", {}, 2.0),
    ("fastest-T4", "lavps", "fastest", {}, 4.0),
    ("fastest-N50", "lavps", "fastest", {"steps": 50, "window": 47}, 1.0),
    ("mgdm-ref", "mgdm", "reference", {}, 1.0),
    ("mgdm-fast", "mgdm", "fast", {}, 1.0),
]
prior = load_prior()
truth = prior_draws(prior, P, STEPS, 0)
shape = tuple(prior.shape)
problems = []
for p in range(P):
    s = PROBLEM_SEED_OFFSET + 2 * p
    op = operator(SPEC, shape, seed=s)
    problems.append((op, degrade(truth[p], op, 0.05, seed=s)))
EXTRA = [(f"fastest-T{t}", "lavps", "fastest", {}, float(t)) for t in (1.5, 2.5, 3, 4)] + [
    (f"fastest-noshrink-T{t}", "lavps", "fastest", {"linear_variance": False}, float(t)) for t in (2, 3)] + [
    (f"reference-T{t}", "lavps", "reference", {}, float(t)) for t in (1.5, 2, 2.5)] + [
    (f"mgdm-ref-T{t}", "mgdm", "reference", {}, float(t)) for t in (1.5, 2)] + [
    ("ddrm-100", "ddrm", "reference", {}, 1.0), ("diffpir-100", "diffpir", "reference", {}, 1.0)]
for label, sampler, preset, settings, temp in VARIANTS + EXTRA:
    if only and label not in only:
        continue
    if temp != 1.0:
        settings = {**settings, "temperature": temp}
    draws, sec = [], 0.0
    for p, (op, obs) in enumerate(problems):
        out = restore(obs.y, op, 0.05, prior=prior, sampler=sampler, samples=K, seed=SAMPLE_STRIDE * p + 1,
                      preset=preset, settings=dict(settings))
        draws.append(out.samples.float()); sec += out.cost.seconds
    x = torch.stack(draws)  # P K C H W
    rep = calibration_report(x, truth)
    m = x.mean(1)
    d_truth = ((truth - m) ** 2).flatten(1).sum(1)
    d_samp = ((x - m[:, None]) ** 2).flatten(2).sum(2).mean(1)
    ratio = math.sqrt(float(d_truth.mean() / (d_samp.mean() * (K + 1) / (K - 1))))
    st = rep["statistics"]
    cov = {n: (st[n]["coverage"][1]["coverage"], st[n]["coverage"][2]["coverage"]) for n in st}
    row = dict(label=label, spec=SPEC, problems=P, temperature=temp, settings=settings, preset=preset, sampler=sampler,
               cov80_90={n: [round(a, 3), round(b, 3)] for n, (a, b) in cov.items()},
               above_all_distance=st["distance"]["above_all"], spread_ratio=ratio,
               psnr_one=float(psnr(x[:, 0], truth).mean()), s_per_sample=sec / (P * K))
    with open(OUT, "a") as f:
        f.write(json.dumps(row) + "\n")
    print(f"{label:16s} T={temp:<4} " + " ".join(f"{n[:4]} {a:.2f}/{b:.2f}" for n, (a, b) in cov.items())
          + f" beyond {row['above_all_distance']:.2f} ratio {ratio:.2f} psnr {row['psnr_one']:.1f} s/smp {row['s_per_sample']:.3f}", flush=True)
