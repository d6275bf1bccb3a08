"""Prototype: expected log-likelihood under x0 ~ N(D(x,tau), (c r_tau)^2) with M fixed draws, non-linear only."""
import os, sys, runpy, math
import torch
import lavps.objective as obj
import lavps.samplers.gauss_vi as gv
import lavps.samplers.lavps as lv
from lavps import api

M = int(os.environ.get("SMOOTH_M", "4"))
C = float(os.environ.get("SMOOTH_C", "1.0"))
S2 = float(os.environ.get("SMOOTH_S2", "0.6"))
prior = api.load_prior("mnist")
abar_all = prior.schedule.alphas_cumprod
_eps = {}
def eps_for(shape, dtype, device):
    key = (tuple(shape), dtype)
    if key not in _eps:
        g = torch.Generator().manual_seed(12345)
        half = torch.randn((M // 2, *shape), generator=g)
        _eps[key] = torch.cat([half, -half]).to(dtype)
    return _eps[key].to(device)

orig = obj.negative_elbo
def negative_elbo(mu, rho, z, bridge, tau, denoise, problem):
    if problem.is_linear_gaussian or C == 0:
        return orig(mu, rho, z, bridge, tau, denoise, problem)
    x = mu + rho.exp() * z
    x0 = denoise(x, tau)
    a = abar_all[torch.as_tensor(tau).cpu()].to(x0.dtype)
    r = C * torch.sqrt(S2 * (1 - a) / (a * S2 + 1 - a))
    r = r.reshape(-1, *([1] * (x0.ndim - 1))).to(x0.device) if r.ndim else r
    e = eps_for(x0.shape[1:], x0.dtype, x0.device)
    data = torch.stack([-problem.log_likelihood(x0 + r * e[k]) for k in range(M)]).mean(0)
    dims = tuple(range(1, x.ndim))
    white = (x - bridge.mean) / bridge.log_std.exp()
    sum_log_s = bridge.log_std.expand_as(x).sum(dims)
    kl = 0.5 * (white * white).sum(dims) + sum_log_s - rho.sum(dims) - 0.5 * x[0].numel()
    return data + kl
obj.negative_elbo = gv.negative_elbo = lv.negative_elbo = negative_elbo
sys.argv = ["tune_lavps.py"] + sys.argv[1:]
sys.path.insert(0, "scripts")
runpy.run_path("scripts/tune_lavps.py", run_name="__main__")
