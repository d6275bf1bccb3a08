"""Particles around MGDM on bench gmm problems: SW to exact vs the exact floor, mode-weight error, seconds."""
import json, time, sys
import torch
torch.set_num_threads(1)
from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.evaluation.metrics import sliced_wasserstein
from lavps.samplers.registry import build_sampler
from lavps.samplers.particles import Particles
N, PROBLEMS = 200, 2
MGDM = {"steps": 50, "adam_out": 2, "adam_in": 5, "window": 10}
rows = []
for d, dys in ((8, (1, 2, 4)), (80, (1,))):
    for dy in dys:
        for seed in range(PROBLEMS):
            gp = make_gmm_problem(d, dy, seed)
            g = torch.Generator().manual_seed(seed + 7919)
            ref, other = gp.posterior.sample(N, g), gp.posterior.sample(N, g)
            floor = sliced_wasserstein(other, ref, 100, seed=seed)
            multi = bool((gp.posterior.weights >= 0.05).sum() >= 2)
            base = build_sampler("mgdm", gp.prior, MGDM)
            for k in (0, 4, 16):
                s = base if k == 0 else Particles(base, k)
                t0 = time.time()
                x = s.sample(gp.problem, N, seed=[seed * 10000 + i for i in range(N)]).samples
                secs = time.time() - t0
                err = float((gp.prior.responsibilities(x).mean(0) - gp.posterior.weights).abs().max())
                r = dict(d=d, dy=dy, seed=seed, K=k, sw=sliced_wasserstein(x, ref, 100, seed=seed), floor=floor,
                         mode_err=err, multimodal=multi, seconds=secs)
                rows.append(r)
                print(json.dumps(r), flush=True)
json.dump(rows, open("/tmp/calib/runs/pt_bench.json", "w"), indent=1)
