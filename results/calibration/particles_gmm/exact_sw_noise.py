"""How far an EXACT sampler's SW / floor strays on each bench problem: the floor is one SW between two exact
sets of 200, so the per-problem ratio of even exact draws is noisy. Per problem (same reference and floor
sets as run.py), 40 further independent exact sets of 200: the median and 95th percentile of their SW / floor.
Usage: PYTHONPATH=src python results/calibration/particles_gmm/exact_sw_noise.py > exact_sw_noise.jsonl
"""

import json

import torch

from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.metrics import sliced_wasserstein

torch.set_num_threads(1)
OUTPUTS_SW, SETS = 200, 40

for d in (8, 80):
    for dy in (1, 2, 4):
        for seed in range(10):
            gp = make_gmm_problem(d, dy, seed)
            g = torch.Generator().manual_seed(seed + 7919)  # run.py's reference and floor sets
            ref, other = gp.posterior.sample(OUTPUTS_SW, g), gp.posterior.sample(OUTPUTS_SW, g)
            floor = sliced_wasserstein(other, ref, 100, seed=seed)
            g = torch.Generator().manual_seed(seed + 15485863)
            ratios = torch.tensor([sliced_wasserstein(gp.posterior.sample(OUTPUTS_SW, g), ref, 100, seed=seed) / floor
                                   for _ in range(SETS)])  # fmt: skip
            row = dict(d=d, dy=dy, seed=seed, exact_sw_ratio_median=float(ratios.median()),
                       exact_sw_ratio_p95=float(ratios.quantile(0.95)))  # fmt: skip
            print(json.dumps(row), flush=True)
