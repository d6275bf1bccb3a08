import torch, time, sys
torch.set_num_threads(1)
from lavps import api
from lavps.data.mnist import mnist_split
from lavps.operators import InverseProblem, parse_noise_spec
from lavps.samplers.registry import build_sampler
from lavps.workflows.settings import resolve_settings
prior = api.load_prior("mnist")
im, lab = mnist_split("test"); x = im[[400, 401, 402, 403]]
op = api.operator("phase:2", tuple(prior.shape)); noise = parse_noise_spec("gaussian:0.05")
y = torch.cat([noise.observe(x[i:i+1], op, torch.Generator().manual_seed(i)) for i in range(4)])
pb = InverseProblem(y, op, noise)
AM = "src/lavps/assets/mnist32_nonlinear_amortizer.safetensors"
rows = [("mgdm", "reference", {}), ("lavps", "auto", {}), ("lavps", "fast", {"n_reps": 5, "linear_iters": 5}),
        ("lavps", "fast", {"n_reps": 5, "linear_probes": 4}), ("lavps", "fast", {"n_reps": 5, "linear_iters": 5, "linear_probes": 4}),
        ("lavps", "fast", {"n_reps": 5, "linear_below": 0}), ("mgdm", "reference", {})]
for sampler, preset, opts in rows:
    r = resolve_settings(sampler, preset, opts, prior, "phase:2", AM if sampler == "lavps" else None)
    s = build_sampler(sampler, prior, r.config, **r.networks)
    t = time.perf_counter(); out = s.sample(pb, 4, seed=list(range(4)), per_sample_noise=True)
    print(sampler, preset, opts, f"{time.perf_counter() - t:.1f} s", out.cost.denoiser_forwards, out.cost.denoiser_backwards, out.cost.amortizer_forwards, flush=True)
