import torch, sys, math

torch.set_num_threads(1)
from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.objective import bridge_prior
from lavps.samplers.registry import build_sampler

d, dy, seed = map(int, sys.argv[1:4])
gp = make_gmm_problem(d, dy, seed)
w = gp.posterior.weights
top = torch.argsort(w, descending=True)[:3]
sch = build_sampler("mgdm", gp.prior, {"steps": 50}).schedule


def run(grid, N=50000, chunks=4):
    gen = torch.Generator().manual_seed(1)
    R, LW = [], []
    for c in range(chunks):
        x = torch.randn(N, d, generator=gen)
        t = grid[-1]
        for tau in reversed(grid[1:-1]):
            x0 = gp.prior.denoise(x, t)
            k = bridge_prior(sch, x0, x, tau, t)
            x = k.mean + k.log_std.exp() * torch.randn(N, d, generator=gen)
            t = tau
        x0 = gp.prior.denoise(x, t)
        R.append(gp.prior.responsibilities(x0))
        LW.append(gp.problem.log_likelihood(x0).double())
    R, LW = torch.cat(R), torch.cat(LW)
    wt = torch.softmax(LW, 0)
    pm = (wt[:, None] * R).sum(0)
    return (
        [round(float(pm[i]), 3) for i in top],
        round(100 * float((pm - w).abs().max()), 2),
        round(float(1 / (wt * wt).sum())),
    )


def mk(cuts):
    pts = {0, 999}
    for lo, hi, st in cuts:
        pts |= set(range(lo, hi + 1, st))
    return sorted(pts)


print(d, dy, seed, "exact", [round(float(w[i]), 3) for i in top], flush=True)
for name, cuts in [
    ("u50", [(0, 999, 20)]),
    ("u100", [(0, 999, 10)]),
    ("20/10>600", [(0, 600, 20), (600, 999, 10)]),
    ("20/5>700", [(0, 700, 20), (700, 999, 5)]),
    ("20/4>600", [(0, 600, 20), (600, 999, 4)]),
]:
    g = mk(cuts)
    print(name, len(g), run(g), flush=True)
