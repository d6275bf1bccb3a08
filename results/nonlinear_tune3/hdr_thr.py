"""hdr:2 tuning digits (set A): LAVPS auto PSNR / SSIM with consistent_point's pin threshold at K sigma."""
import sys, torch
torch.set_num_threads(1)
from lavps.operators.nonlinear import HighDynamicRange
from lavps import api
from lavps.data.mnist import mnist_split
from lavps.metrics import psnr, ssim
from lavps.operators import InverseProblem, parse_noise_spec
from lavps.samplers.registry import build_sampler
from lavps.workflows.settings import resolve_settings
import json
prior = api.load_prior("mnist")
im, lab = mnist_split("test")
picks = [int((lab == c % 10).nonzero()[c // 10]) for c in range(200, 208)]
x = im[picks]
op = api.operator("hdr:2", tuple(prior.shape)); noise = parse_noise_spec("gaussian:0.05")
y = torch.cat([noise.observe(x[i:i+1], op, torch.Generator().manual_seed(1000 + i)) for i in range(8)])
pb = InverseProblem(y, op, noise)
AM = "src/lavps/assets/mnist32_nonlinear_amortizer.safetensors"
if sys.argv[1] == "none":
    HighDynamicRange.consistent_point = lambda self, x, y, sigma: x
    sys.argv[1:] = ["0"]
for k in [float(a) for a in sys.argv[1:]]:
    HighDynamicRange.pin_sigmas = k
    r = resolve_settings("lavps", "auto", {}, prior, "hdr:2", AM)
    out = build_sampler("lavps", prior, r.config, **r.networks).sample(pb, 8, seed=list(range(8)), per_sample_noise=True).samples
    p, s_ = psnr(out, x), ssim(out, x)
    print(f"pin {k:g} sigma: PSNR {p.mean():.2f} SSIM {s_.mean():.3f}", [round(v, 2) for v in p.tolist()], flush=True)
