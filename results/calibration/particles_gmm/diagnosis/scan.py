# tuning problems (seeds >= 100, never reported): mode-weight error vs K and variants, 1000 outputs
import json, sys, time, torch

torch.set_num_threads(1)
from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.samplers.particles import Particles
from lavps.samplers.registry import build_sampler

N = 1000
d, dy = int(sys.argv[1]), int(sys.argv[2])
runs = [tuple(a.split(":")) for a in sys.argv[3:]]  # K:steps
seeds = [s for s in range(100, 140) if (make_gmm_problem(d, dy, s).posterior.weights >= 0.1).sum() >= 2][:4]
for seed in seeds:
    gp = make_gmm_problem(d, dy, seed)
    w = gp.posterior.weights
    ex = gp.posterior.sample(40 * N, torch.Generator().manual_seed(seed))
    r = gp.prior.responsibilities(ex).reshape(40, N, -1).mean(1)
    noise = (r - w).abs().max(1).values
    for k, steps in runs:
        base = build_sampler("mgdm", gp.prior, {"steps": int(steps), "adam_out": 2, "adam_in": 5, "window": 10})
        s = Particles(base, int(k))
        t0 = time.perf_counter()
        res = s.sample(gp.problem, N, seed=[seed * 10000 + i for i in range(N)])
        mass = gp.prior.responsibilities(res.samples).mean(0)
        top = torch.argsort(w, descending=True)[:3]
        print(
            json.dumps(
                dict(
                    d=d,
                    dy=dy,
                    seed=seed,
                    K=int(k),
                    steps=int(steps),
                    err=round(100 * float((mass - w).abs().max()), 2),
                    noise_mean=round(100 * float(noise.mean()), 2),
                    w=[round(float(w[i]), 3) for i in top],
                    m=[round(float(mass[i]), 3) for i in top],
                    ess=round(res.info["particle_ess"][0], 1),
                    resamplings=res.info.get("resamplings", 0) / N,
                    s=round(time.perf_counter() - t0, 1),
                )
            ),
            flush=True,
        )
