"""Same-process seconds on 4 digits of phase:2: MGDM-reference first and last, LAVPS rows between.

    PYTHONPATH=src python results/nonlinear_tune3/timing.py                 # round 1 (timing.txt)
    PYTHONPATH=src python results/nonlinear_tune3/timing.py 2               # round 2 (five repetitions made cheaper)
    PYTHONPATH=src python results/nonlinear_tune3/timing.py 3               # round 3 (fastest + 6 repetitions)
"""
import sys
import time

import torch

torch.set_num_threads(1)
from lavps import api  # noqa: E402
from lavps.data.mnist import mnist_split  # noqa: E402
from lavps.operators import InverseProblem, parse_noise_spec  # noqa: E402
from lavps.samplers.registry import build_sampler  # noqa: E402
from lavps.workflows.settings import resolve_settings  # noqa: E402

ROUNDS = {
    "1": [("lavps", "auto", {}), ("lavps", "fast", {"n_reps": 4}), ("lavps", "fast", {"n_reps": 5})],
    "2": [("lavps", "auto", {}), ("lavps", "fast", {"n_reps": 5, "linear_iters": 5}),
          ("lavps", "fast", {"n_reps": 5, "linear_probes": 4}),
          ("lavps", "fast", {"n_reps": 5, "linear_iters": 5, "linear_probes": 4}),
          ("lavps", "fast", {"n_reps": 5, "linear_below": 0})],
    "3": [("lavps", "auto", {}), ("lavps", "fastest", {"n_reps": 6, "temperature": 1.0, "linear_variance": True})],
}
rows = [("mgdm", "reference", {}), *ROUNDS[sys.argv[1] if len(sys.argv) > 1 else "1"], ("mgdm", "reference", {})]
prior = api.load_prior("mnist")
images, _ = mnist_split("test")
x = images[[400, 401, 402, 403]]
op = api.operator("phase:2", tuple(prior.shape))
noise = parse_noise_spec("gaussian:0.05")
y = torch.cat([noise.observe(x[i : i + 1], op, torch.Generator().manual_seed(i)) for i in range(4)])
problem = InverseProblem(y, op, noise)
AM = "src/lavps/assets/mnist32_nonlinear_amortizer.safetensors"
for sampler, preset, opts in rows:
    r = resolve_settings(sampler, preset, opts, prior, "phase:2", AM if sampler == "lavps" else None)
    s = build_sampler(sampler, prior, r.config, **r.networks)
    start = time.perf_counter()
    out = s.sample(problem, 4, seed=list(range(4)), per_sample_noise=True)
    c = out.cost
    print(sampler, preset, opts, f"{time.perf_counter() - start:.1f} s", c.denoiser_forwards, c.denoiser_backwards,
          c.amortizer_forwards, flush=True)
