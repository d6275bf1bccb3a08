import torch, sys

torch.set_num_threads(1)
from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.samplers.particles import Particles
from lavps.samplers.registry import build_sampler

gp = make_gmm_problem(8, 2, 105)
w = gp.posterior.weights
base = build_sampler("mgdm", gp.prior, {"steps": 50, "adam_out": 2, "adam_in": 5, "window": 10})
for K in (16, 64):
    for rep in range(3 if K == 16 else 2):
        out = (
            Particles(base, K)
            .sample(gp.problem, 1000, seed=[rep * 7777777 + 105 * 10000 + i for i in range(1000)])
            .samples
        )
        m = gp.prior.responsibilities(out).mean(0)
        print(K, rep, [round(float(m[i]), 3) for i in torch.argsort(w, descending=True)[:2]], flush=True)
