"""One-sample PSNR of LAVPS's default and of each peer at its strongest setting on the SAME 48 prior-draw
problems (issue 18's PSNR target), paired per problem. Problems, operators, observations and sample seeds are
those of `lavps bench calibration --problems 48 --seed 0` (results/calibration/default_fix): problem p's
first sample has seed SAMPLE_STRIDE * p + 1 in every row, so a peer's one sample here is sample 0 of a
15-sample run.

    PYTHONPATH=src python results/calibration/peers48/run.py TASK OUT.jsonl [ROWS]   ROWS: lavps,ddrm,diffpir,mgdm,dps
Appends one JSON line per row: per-problem PSNR of sample 0 (and for LAVPS the mean over its 15 samples).
"""
import json
import os
import sys
import time

import torch

torch.set_num_threads(1)
from lavps.api import load_prior, restore  # noqa: E402
from lavps.evaluation.calibration_bench import SAMPLE_STRIDE, calibration_problems, prior_draws  # noqa: E402
from lavps.metrics import psnr  # noqa: E402
from lavps.samplers.presets import tuned_options  # noqa: E402

PROBLEMS, SEED, PRIOR_STEPS, SIGMA = 48, 0, 1000, 0.05
CACHE = os.environ.get("TRUTH_CACHE", "/tmp/peers48_truth.pt")


def rows(spec):
    return {
        "lavps": ("lavps auto (default, 15 samples)", "lavps", None, {}, 15),
        "ddrm": ("ddrm-100 (uniform grid, tuned eta)", "ddrm", "reference", tuned_options("ddrm", spec), 1),
        "diffpir": ("diffpir-100 (tuned)", "diffpir", "reference", tuned_options("diffpir", spec), 1),
        "mgdm": ("mgdm-ref", "mgdm", "reference", {}, 1),
        "dps": ("dps-250 (reference)", "dps", "reference", {}, 1),
    }


spec, out = sys.argv[1], sys.argv[2]
names = sys.argv[3].split(",") if len(sys.argv) > 3 else ["lavps", "ddrm", "diffpir", "mgdm", "dps"]
prior = load_prior()
if os.path.exists(CACHE):
    truth = torch.load(CACHE)
else:
    truth = prior_draws(prior, PROBLEMS, PRIOR_STEPS, SEED)
    torch.save(truth, CACHE)
problems = calibration_problems(truth, spec, SIGMA, SEED)
for name in names:
    label, sampler, preset, settings, k = rows(spec)[name]
    first, mean, seconds = [], [], 0.0
    for p, (op, obs) in enumerate(problems):
        start = time.perf_counter()
        res = restore(obs.y, op, SIGMA, prior=prior, sampler=sampler, samples=k, seed=SAMPLE_STRIDE * p + 1,
                      preset=preset, settings=dict(settings))
        seconds += time.perf_counter() - start
        scores = psnr(res.samples.float(), truth[p].expand_as(res.samples)).tolist()
        first.append(scores[0])
        mean.append(sum(scores) / len(scores))
    entry = dict(operator=spec, sampler=label, samples=k, psnr_first=first, psnr_mean=mean,
                 seconds_per_sample=seconds / (PROBLEMS * k), load_average=os.getloadavg())
    with open(out, "a") as f:
        f.write(json.dumps(entry) + "\n")
    print(spec, label, f"one-sample PSNR {sum(first) / PROBLEMS:.2f}", f"{entry['seconds_per_sample']:.3f} s/sample",
          flush=True)
