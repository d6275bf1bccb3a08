import torch, sys

torch.set_num_threads(1)
from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.samplers.registry import build_sampler

d, dy, seed = map(int, sys.argv[1:4])
gp = make_gmm_problem(d, dy, seed)
w = gp.posterior.weights
top = torch.argsort(w, descending=True)[:3]
x0 = gp.prior.sample(200000, torch.Generator().manual_seed(0))
print("prior", [round(float(gp.prior.weights[i]), 4) for i in top], "var", gp.prior.variances[top, 0].tolist())
print("samples", [round(float(gp.prior.responsibilities(x0).mean(0)[i]), 4) for i in top])
for steps in (50, 200):
    base = build_sampler("mgdm", gp.prior, {"steps": steps, "adam_out": 2, "adam_in": 5, "window": 10})
    t1 = int(base.grid[1])
    a = float(base.schedule.abar(t1))
    xt = a**0.5 * x0 + (1 - a) ** 0.5 * torch.randn(x0.shape, generator=torch.Generator().manual_seed(1))
    r = gp.prior.responsibilities(gp.prior.denoise(xt, t1)).mean(0)
    print(steps, "T1", t1, "D(x_T1) of exact x_T1", [round(float(r[i]), 4) for i in top])
