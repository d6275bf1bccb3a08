import torch, math
torch.set_num_threads(1)
from lavps.api import load_prior, operator, degrade, restore
from lavps.evaluation.calibration_bench import prior_draws
import lavps.samplers.lavps as L
prior = load_prior()
truth = prior_draws(prior, 2, 100, 0)
rec = []
orig = L.LAVPS.amortized_start
def hook(self, ctx, bridge, x_t, x0, tau, t):
    mu, rho = orig(self, ctx, bridge, x_t, x0, tau, t)
    ls = bridge.log_std.expand_as(rho)
    rec.append((int(torch.as_tensor(tau).flatten()[0]), float((rho - ls).mean()), float((rho-ls).min()), float((rho-ls).max()), float(ls.flatten()[0])))
    return mu, rho
L.LAVPS.amortized_start = hook
for spec in ["motion_blur:9:0.5", "box:0.3:0.5", "sr:4"]:
    rec.clear()
    op = operator(spec, tuple(prior.shape), seed=10000)
    obs = degrade(truth[0], op, 0.05, seed=10000)
    for lv in (False,):
        restore(obs.y, op, 0.05, prior=prior, sampler="lavps", samples=4, seed=1, preset="fastest", settings={"linear_variance": lv, "linear_below": 0})
        print(spec, "tau, mean drho, min, max, log s:", [(a, round(b,2), round(c,2), round(d,2), round(e,2)) for a,b,c,d,e in rec])
