"""Post-hoc data-consistency (Matheron) step on LAVPS default samples: x' = x + A^T z,
(A A^T + s^2/c I) z = y + s*eps - A x, c the prior variance of x in the measured directions (inf = projection).

    PYTHONPATH=src python results/calibration/data_fit/data_consistency.py TASK PROBLEMS SAMPLES [SETTINGS-JSON [C,...]]

Tuning problems (seed 500, 250-step prior draws), one operator draw (seed 3) for all problems. Prints one-sample
PSNR, the PSNR of the sample mean, the mean discrepancy (and the truth's), error/spread ratio, beyond-all share.
"""
import json
import math
import sys

import torch
torch.set_num_threads(1)
from lavps import api
from lavps.evaluation.calibration_bench import prior_draws
from lavps.operators import InverseProblem, GaussianNoise
from lavps.operators.cg import conjugate_gradient
from lavps.samplers.registry import build_sampler
from lavps.workflows.settings import resolve_settings
task = sys.argv[1]; P = int(sys.argv[2]); K = int(sys.argv[3])
extra = json.loads(sys.argv[4]) if len(sys.argv) > 4 else {}
sig = 0.05
prior = api.load_prior("mnist")
x = prior_draws(prior, P, 250, 500)
op = api.operator(task, tuple(prior.shape), seed=3)
g = torch.Generator().manual_seed(7)
y = op.restrict(op.forward(x) + sig * torch.randn(op.forward(x).shape, generator=g))
pb = InverseProblem(y.repeat_interleave(K, 0), op, GaussianNoise(sig))
tr = x.repeat_interleave(K, 0)
r = resolve_settings("lavps", None, extra, prior, task, None)
s = build_sampler("lavps", prior, r.config, **r.networks)
out = s.sample(pb, P * K, seed=list(range(P * K)), per_sample_noise=True).samples.double()
Y = pb.y.double(); TR = tr.double()
def stats(name, xs):
    with torch.no_grad():
        d = pb.discrepancy(xs.float())
    psnr = -10 * torch.log10(((xs - TR) ** 2).flatten(1).mean(1) / 4)
    xs_ = xs.reshape(P, K, -1); m = xs_.mean(1, keepdim=True)
    spread = ((xs_ - m) ** 2).sum(-1)  # P,K
    dt = ((x.double().reshape(P, 1, -1) - m) ** 2).sum(-1).squeeze(1)
    ratio = (dt / (1 + 1 / K)).sum() / (spread.mean(1) / (1 - 1 / K)).sum()
    beyond = (dt > spread.max(1).values).double().mean()
    mean_psnr = -10 * torch.log10(((m.squeeze(1) - x.double().reshape(P, -1)) ** 2).mean(1) / 4)
    print(f"{name:14s} psnr1 {float(psnr.mean()):6.2f}  psnr-mean {float(mean_psnr.mean()):6.2f}  disc {float(d.mean()):.3f} (truth {float(pb.discrepancy(tr).mean()):.3f})  err/spread {float(ratio):.3f}  beyond-all {float(beyond):.2f}")
stats("lavps", out)
ge = torch.Generator().manual_seed(99)
eps = torch.randn(Y.shape, generator=ge, dtype=torch.float64)
for c in [float(v) for v in sys.argv[5].split(",")] if len(sys.argv) > 5 else [1e-3, 4e-3, 1e-2, 4e-2, math.inf]:
    lam = sig**2 / c
    rhs = op.restrict(Y + sig * eps - op.forward(out))
    mv = lambda z: op.restrict(op.forward(op.adjoint(z))) + lam * z
    z = conjugate_gradient(mv, rhs, iters=200, tol=1e-8)
    stats(f"c={c:g}", out + op.adjoint(z))
