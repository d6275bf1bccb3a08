import torch, sys, math
torch.set_num_threads(1)
from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.objective import bridge_prior
from lavps.samplers.registry import build_sampler
from lavps.samplers.particles import prior_variance
d, dy, seed, n = map(int, sys.argv[1:5])
gp = make_gmm_problem(d, dy, seed); top = torch.argsort(gp.posterior.weights, descending=True)[:3]
sch = build_sampler("mgdm", gp.prior, {"steps": 50}).schedule
s2 = prior_variance(gp.prior)
ab = torch.tensor([float(sch.abar(t)) for t in range(1000)], dtype=torch.float64)
def run(grid, N=100000):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(N, d, generator=gen); t = grid[-1]
    for tau in reversed(grid[1:-1]):
        x0 = gp.prior.denoise(x, t); k = bridge_prior(sch, x0, x, tau, t)
        x = k.mean + k.log_std.exp() * torch.randn(N, d, generator=gen); t = tau
    r = gp.prior.responsibilities(gp.prior.denoise(x, t)).mean(0)
    return [round(float(r[i]), 4) for i in top], round(100 * float((r - gp.prior.weights).abs().max()), 2)
def by(f):  # n points uniform in the monotone (in t) quantity f
    v = f(ab); tg = torch.linspace(float(v[0]), float(v[-1]), n, dtype=torch.float64)
    idx = sorted({0, 999, *[int((v - x).abs().argmin()) for x in tg]})
    return idx
print("target", [round(float(gp.prior.weights[i]), 4) for i in top], "s2", round(s2, 1))
grids = {"uniform_t": by(lambda a: torch.arange(1000.0, dtype=torch.float64)),
         "r_t": by(lambda a: (s2 * (1 - a) / (a * s2 + 1 - a)).sqrt()),
         "half_t_half_r": sorted(set(by(lambda a: torch.arange(1000.0, dtype=torch.float64))[::2]) | set(by(lambda a: (s2 * (1 - a) / (a * s2 + 1 - a)).sqrt())[::2])),
         "logsnr": by(lambda a: -(a / (1 - a)).log())}
for name, g in grids.items():
    print(name, len(g), g[-8:], run(g), flush=True)
