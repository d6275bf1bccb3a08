# chain variants (kernel variance): prior mode weights of the chain's x0 and the IS (K -> inf) posterior
import torch, sys, math

torch.set_num_threads(1)
from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.diffusion import bridge_coefficients
from lavps.samplers.registry import build_sampler
from lavps.samplers.particles import prior_variance

d, dy, seed, steps = map(int, sys.argv[1:5])
gp = make_gmm_problem(d, dy, seed)
w = gp.posterior.weights
top = torch.argsort(w, descending=True)[:3]
s2 = prior_variance(gp.prior)
print(
    "s2",
    round(s2, 1),
    "exact post",
    [round(float(w[i]), 3) for i in top],
    "prior",
    [round(float(gp.prior.weights[i]), 4) for i in top],
    flush=True,
)
base = build_sampler("mgdm", gp.prior, {"steps": steps, "adam_out": 2, "adam_in": 5, "window": 10})
g = base.grid.tolist()
sch = base.schedule
for variant in sys.argv[5:]:
    gen = torch.Generator().manual_seed(1)
    R, LW = [], []
    for chunk in range(4):
        N = 50000
        x = torch.randn(N, d, generator=gen)
        t = g[-1]
        for i in range(len(g) - 1, 1, -1):
            tau = g[i - 1]
            x0 = gp.prior.denoise(x, t)
            c = bridge_coefficients(sch, 0, tau, t, 1.0)
            var = c.std**2
            a = float(sch.abar(t))
            r2 = s2 * (1 - a) / (a * s2 + 1 - a)
            if variant.startswith("mm"):
                var = var + float(variant[2:]) * c.c_s**2 * r2
            elif variant == "upper":
                var = 1 - sch.abar(t) / sch.abar(tau)
            x = c.c_s * x0 + c.c_l * x + float(var) ** 0.5 * torch.randn(N, d, generator=gen)
            t = tau
        x0 = gp.prior.denoise(x, t)
        R.append(gp.prior.responsibilities(x0))
        LW.append(gp.problem.log_likelihood(x0).double())
    R, LW = torch.cat(R), torch.cat(LW)
    wt = torch.softmax(LW, 0)
    prior_m = R.mean(0)
    post_m = (wt[:, None] * R).sum(0)
    print(
        variant,
        "chain prior",
        [round(float(prior_m[i]), 4) for i in top],
        "maxerr",
        round(100 * float((prior_m - gp.prior.weights).abs().max()), 2),
        "IS post",
        [round(float(post_m[i]), 3) for i in top],
        "err",
        round(100 * float((post_m - w).abs().max()), 2),
        flush=True,
    )
