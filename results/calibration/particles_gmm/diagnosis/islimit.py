# the K -> infinity target of the particle sampler: chain x0 draws reweighted by the exact likelihood
import torch, sys

torch.set_num_threads(1)
from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.objective import bridge_prior
from lavps.samplers.registry import build_sampler
from lavps.samplers.gauss_vi import draw_from

d, dy, seed = map(int, sys.argv[1:4])
gp = make_gmm_problem(d, dy, seed)
w = gp.posterior.weights
top = torch.argsort(w, descending=True)[:3]
print(
    "exact post",
    [round(float(w[i]), 3) for i in top],
    "prior",
    [round(float(gp.prior.weights[i]), 4) for i in top],
    flush=True,
)
for steps in [int(a) for a in sys.argv[4:]]:
    base = build_sampler("mgdm", gp.prior, {"steps": steps, "adam_out": 2, "adam_in": 5, "window": 10})
    g = base.grid.tolist()
    sch = base.schedule
    gen = torch.Generator().manual_seed(1)
    R, LW = [], []
    for chunk in range(4):
        N = 50000
        x = torch.randn(N, d, generator=gen)
        t = g[-1]
        for i in range(len(g) - 1, 1, -1):
            tau = g[i - 1]
            x0 = gp.prior.denoise(x, t)
            k = bridge_prior(sch, x0, x, tau, t)
            x = draw_from(k.mean, k.log_std.expand_as(x), torch.randn(N, d, generator=gen))
            t = tau
        x0 = gp.prior.denoise(x, t)
        R.append(gp.prior.responsibilities(x0))
        LW.append(gp.problem.log_likelihood(x0).double())
    R, LW = torch.cat(R), torch.cat(LW)
    wt = torch.softmax(LW, 0)
    prior_m = R.mean(0)
    post_m = (wt[:, None] * R).sum(0)
    print(
        steps,
        "chain prior",
        [round(float(prior_m[i]), 4) for i in top],
        "IS post",
        [round(float(post_m[i]), 3) for i in top],
        "ESS",
        round(float(1 / (wt * wt).sum())),
        flush=True,
    )
