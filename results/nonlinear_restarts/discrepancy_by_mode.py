"""Per-sample discrepancy of LAVPS's phase:2 samples against their mode class (the check behind restarts).

    PYTHONPATH=src python results/nonlinear_restarts/discrepancy_by_mode.py \
        FIRST DIGITS SAMPLES [PRESET [SETTINGS-JSON]]

Set B as in README.md: 300 16 4 (shipped multimodal preset before restarts: pass '{"restarts": 0, "n_reps": 6}').
Prints one line per sample: digit, mode class, aligned PSNR, the sample's discrepancy and the truth's.
"""

import json
import sys

import torch

from lavps import api
from lavps.data.mnist import mnist_split
from lavps.evaluation.phase_modes import phase_mode_classes
from lavps.operators import InverseProblem, parse_noise_spec
from lavps.samplers.registry import build_sampler
from lavps.workflows.settings import resolve_settings

torch.set_num_threads(1)
first, digits, per_digit = (int(a) for a in sys.argv[1:4])
preset = sys.argv[4] if len(sys.argv) > 4 else "auto"
extra = json.loads(sys.argv[5]) if len(sys.argv) > 5 else {}
images, labels = mnist_split("test")
picks = [int((labels == c % 10).nonzero()[c // 10]) for c in range(first, first + digits)]  # as tune_lavps.py
truth = images[picks]
prior = api.load_prior("mnist")
noise = parse_noise_spec("gaussian:0.05")
op = api.operator("phase:2", tuple(prior.shape))
y = torch.cat([noise.observe(truth[i : i + 1], op, torch.Generator().manual_seed(1000 + i)) for i in range(digits)])
problem = InverseProblem(y.repeat_interleave(per_digit, 0), op, noise)
truth = truth.repeat_interleave(per_digit, 0)
amortizer = "src/lavps/assets/mnist32_nonlinear_amortizer.safetensors"
resolved = resolve_settings("lavps", preset, extra, prior, "phase", amortizer)
sampler = build_sampler("lavps", prior, resolved.config, **resolved.networks)
x = sampler.sample(problem, len(truth), seed=list(range(len(truth))), per_sample_noise=True).samples
with torch.no_grad():
    score, score_truth = problem.discrepancy(x), problem.discrepancy(truth)
classes, aligned = phase_mode_classes(x, truth, op.oversampling)
for i, (c, a, s, t) in enumerate(zip(classes, aligned, score, score_truth, strict=True)):
    line = f"digit {i // per_digit:3d}  {c:9s}  aligned {float(a):6.2f}"
    print(f"{line}  discrepancy {float(s):.3f}  truth {float(t):.3f}")
