"""Particles on bench gmm problems: SW to exact posterior samples vs the exact floor, mode weights, seconds.

Cells d in (8, 80) x d_y in (1, 2, 4), problems seeds 0..9 (make_gmm_problem, dense A, sigma_y = 1); per
problem 200 outputs (per-sample seeds), SW (100 directions) to 200 exact posterior samples, the floor = SW
between two independent exact sets of 200. Rows: plain MGDM (K = 0) and MGDM's `particles` K = 4, 16, 64
(twisted proposal), plus the sampler's own proposal at K = 16 on seeds 0-2. One JSON line per run.
Usage: PYTHONPATH=src python results/calibration/particles_gmm/run.py > results/calibration/particles_gmm/rows.jsonl
A follow-up for one cell and particle counts: run.py D D_Y K [K ...] (twisted proposal only), e.g. 80 1 256.
"""

import json
import sys
import time

import torch

from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.metrics import sliced_wasserstein
from lavps.samplers.particles import Particles
from lavps.samplers.registry import build_sampler

torch.set_num_threads(1)
OUTPUTS, PROBLEMS = 200, 10
MGDM = {"steps": 50, "adam_out": 2, "adam_in": 5, "window": 10}


def mode_error(prior, x, weights):
    """Largest |mass the samples put on a component - its exact posterior weight| (responsibilities)."""
    return float((prior.responsibilities(x).mean(0) - weights).abs().max())


CELLS = [(int(sys.argv[1]), int(sys.argv[2]))] if len(sys.argv) > 2 else [(d, dy) for d in (8, 80) for dy in (1, 2, 4)]
EXTRA = [(int(k), "twisted") for k in sys.argv[3:]]

for d, dy in CELLS:
    for seed in range(PROBLEMS):
        gp = make_gmm_problem(d, dy, seed)
        g = torch.Generator().manual_seed(seed + 7919)
        ref, other = gp.posterior.sample(OUTPUTS, g), gp.posterior.sample(OUTPUTS, g)
        w = gp.posterior.weights
        common = dict(d=d, dy=dy, seed=seed, floor=sliced_wasserstein(other, ref, 100, seed=seed),
                      multimodal=bool((w >= 0.05).sum() >= 2), exact_mode_err=mode_error(gp.prior, other, w))
        base = build_sampler("mgdm", gp.prior, MGDM)
        runs = [(0, "-"), (4, "twisted"), (16, "twisted"), (64, "twisted")]
        runs += [(16, "sampler")] if seed < 3 else []
        runs = EXTRA or runs
        for k, proposal in runs:
            sampler = base if k == 0 else Particles(base, k, proposal)
            t0 = time.perf_counter()
            x = sampler.sample(gp.problem, OUTPUTS, seed=[seed * 10000 + i for i in range(OUTPUTS)]).samples
            secs = time.perf_counter() - t0
            row = dict(common, K=k, proposal=proposal, sw=sliced_wasserstein(x, ref, 100, seed=seed),
                       mode_err=mode_error(gp.prior, x, w), seconds=secs)
            print(json.dumps(row), flush=True)
