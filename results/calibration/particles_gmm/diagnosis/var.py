import torch, sys, math, time

torch.set_num_threads(1)
from lavps.evaluation.gmm_problems import make_gmm_problem
from lavps.samplers import particles as P
from lavps.samplers.registry import build_sampler

d, dy, seed, K = map(int, sys.argv[1:5])
gp = make_gmm_problem(d, dy, seed)
w = gp.posterior.weights
base = build_sampler("mgdm", gp.prior, {"steps": 50, "adam_out": 2, "adam_in": 5, "window": 10})
top = torch.argsort(w, descending=True)[:3]
print("exact", [round(float(w[i]), 3) for i in top], flush=True)
orig_var = P.prior_variance
for scale, thr in [(1, 0.5), (4, 0.5), (1, 0.2), (0.25, 0.5)]:
    s = P.Particles(base, K)
    s._variance = orig_var(gp.prior) * scale
    orig_res = P.Particles._resample

    def res(self, state, ctx, thr=thr):
        k = self.count
        if bool((P._ess(state.log_w.reshape(-1, k)) < k * thr).any()):
            # only rows below thr: temporarily mark others
            lw = state.log_w.reshape(-1, k)
            low = P._ess(lw) < k * thr
            keep = state.log_w.clone()
            flat = lw.clone()
            flat[~low] = 0.0
            out = orig_res(
                self,
                P.ParticleState(state.x, state.t, state.x0, state.log_g, state.grad, flat.flatten(), state.generators),
                ctx,
            )
            lw2 = out.log_w.reshape(-1, k).clone()
            lw2[~low] = lw[~low]
            out.log_w = lw2.flatten()
            return out
        return state

    s._resample = res.__get__(s)
    t0 = time.perf_counter()
    r = s.sample(gp.problem, 1000, seed=[seed * 10000 + i for i in range(1000)])
    m = gp.prior.responsibilities(r.samples).mean(0)
    print(
        scale,
        thr,
        [round(float(m[i]), 3) for i in top],
        "err",
        round(100 * float((m - w).abs().max()), 2),
        "ess",
        round(r.info["particle_ess"][0], 1),
        "res",
        r.info.get("resamplings", 0) / 1000,
        round(time.perf_counter() - t0),
        flush=True,
    )
