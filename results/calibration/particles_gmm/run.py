"""Particles on bench gmm problems: SW to exact posterior samples vs the exact floor, mode weights against the
closed-form posterior weights (with an exact sampler's own error at the same output count), seconds per K.

Cells d in (8, 80) x d_y in (1, 2, 4), problems seeds 0..9 (make_gmm_problem, dense A, sigma_y = 1). Per
problem: OUTPUTS_MULTI = 1000 outputs on a multimodal problem (two components >= 0.05 of the exact posterior),
200 otherwise; every output is its own particle system (independent outputs). SW (100 directions) of the
first 200 outputs to 200 exact posterior samples; the floor = SW between two independent exact sets of 200
(the same sets as the 200-output version of this table). Mode error = max_k |mean responsibility of the
outputs - exact weight_k| (points); beside it what an exact sampler shows at the same output count
(`exact_mode_error`: 40 independent exact sets; mean and 95th percentile). Rows: plain MGDM (K = 0) and
MGDM's `particles` K = 4, 16, 64 (twisted proposal), all in one process per cell (seconds comparable within a
cell). One JSON line per run.
Usage: PYTHONPATH=src python results/calibration/particles_gmm/run.py D D_Y [K ...] >> rows.jsonl
(default K: 0 4 16 64; `--outputs N` forces N outputs on every problem; `--steps N` the grid of MGDM and of
the particles' reference chain, default 50; `--replicate R` > 0 draws the outputs from other seeds).
"""

import argparse
import json
import time

import torch

from lavps.evaluation.calibration_gmm import MULTIMODAL_WEIGHT, exact_mode_error, mode_error
from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.metrics import sliced_wasserstein
from lavps.samplers.particles import Particles
from lavps.samplers.registry import build_sampler

torch.set_num_threads(1)
OUTPUTS_MULTI, OUTPUTS_SW, PROBLEMS = 1000, 200, 10
MGDM = {"adam_out": 2, "adam_in": 5, "window": 10}

parser = argparse.ArgumentParser()
parser.add_argument("d", type=int)
parser.add_argument("dy", type=int)
parser.add_argument("ks", type=int, nargs="*", default=[0, 4, 16, 64])
parser.add_argument("--outputs", type=int, default=None)
parser.add_argument("--steps", type=int, default=50)
parser.add_argument("--seeds", type=int, nargs="*", default=list(range(PROBLEMS)))
parser.add_argument("--replicate", type=int, default=0, help="> 0: other output seeds (a replicate run)")
args = parser.parse_args()

for seed in args.seeds:
    gp = make_gmm_problem(args.d, args.dy, seed)
    g = torch.Generator().manual_seed(seed + 7919)
    ref, other = gp.posterior.sample(OUTPUTS_SW, g), gp.posterior.sample(OUTPUTS_SW, g)
    multimodal = bool((gp.posterior.weights >= MULTIMODAL_WEIGHT).sum() >= 2)
    n = args.outputs or (OUTPUTS_MULTI if multimodal else OUTPUTS_SW)
    noise = exact_mode_error(gp, n, 40, torch.Generator().manual_seed(seed + 104729))
    common = dict(d=args.d, dy=args.dy, seed=seed, steps=args.steps, outputs=n, multimodal=multimodal,
                  floor=sliced_wasserstein(other, ref, 100, seed=seed),
                  exact_mode_err=float(noise.mean()), exact_mode_err_p95=float(noise.quantile(0.95)))  # fmt: skip
    base = build_sampler("mgdm", gp.prior, {**MGDM, "steps": args.steps})
    for k in args.ks:
        sampler = base if k == 0 else Particles(base, k)
        t0 = time.perf_counter()
        base_seed = seed * 10000 + args.replicate * 1_000_003
        result = sampler.sample(gp.problem, n, seed=[base_seed + i for i in range(n)])
        secs = time.perf_counter() - t0
        x = result.samples
        row = dict(common, K=k, replicate=args.replicate, proposal="twisted" if k else "-", seconds=secs,
                   sw=sliced_wasserstein(x[:OUTPUTS_SW], ref, 100, seed=seed), mode_err=mode_error(gp, x),
                   final_ess=result.info.get("particle_ess", [None])[0],
                   resamplings=result.info.get("resamplings", 0) / n)  # fmt: skip
        print(json.dumps(row), flush=True)
