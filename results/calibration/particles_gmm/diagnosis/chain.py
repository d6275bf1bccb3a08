# discretisation bias of the reference DDPM chain: unconditional chain mode weights vs prior weights
import torch, sys

torch.set_num_threads(1)
from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.objective import bridge_prior
from lavps.samplers.registry import build_sampler
from lavps.samplers.gauss_vi import draw_from

N = 20000
for d in (8, 80):
    for steps in (50, 100, 200):
        errs = []
        for seed in (100, 101, 102):
            gp = make_gmm_problem(d, 1, seed)
            base = build_sampler("mgdm", gp.prior, {"steps": steps, "adam_out": 2, "adam_in": 5, "window": 10})
            g = base.grid.tolist()
            sch = base.schedule
            gen = torch.Generator().manual_seed(seed)
            x = torch.randn(N, d, generator=gen)
            t = g[-1]
            for i in range(len(g) - 1, 1, -1):
                tau = g[i - 1]
                x0 = gp.prior.denoise(x, t)
                k = bridge_prior(sch, x0, x, tau, t)
                x = draw_from(k.mean, k.log_std.expand_as(x), torch.randn(N, d, generator=gen))
                t = tau
            x0 = gp.prior.denoise(x, t)
            r = gp.prior.responsibilities(x0).mean(0)
            errs.append(float((r - gp.prior.weights).abs().max()))
        print(d, steps, [round(100 * e, 2) for e in errs], "noise~", round(100 * (0.25 / N) ** 0.5, 2), flush=True)
