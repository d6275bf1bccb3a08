"""The three reported hdr:2 digits whose SSIM fell most under the consistent-point rule: which pixels are off.

    PYTHONPATH=src python results/nonlinear_tune3/hdr_ssim_look.py
"""
import torch
torch.set_num_threads(1)
from lavps import api
from lavps.evaluation.demo import DemoConfig, held_out_digits, task_problem, sample_seeds
from lavps.workflows.settings import resolve_settings
from lavps.samplers.registry import build_sampler
from lavps.metrics import ssim, psnr
cfg = DemoConfig(images=24, tasks=("hdr:2",), mean_images=0)
clean, labels, idx = held_out_digits(24, 0)
prior = api.load_prior("mnist")
fam, pb = task_problem(cfg, 0, "hdr:2", tuple(prior.shape), clean)
seeds = sample_seeds(cfg, 0)
pick = [idx.index(1), idx.index(300), idx.index(151)]

r = resolve_settings("lavps", "auto", {}, prior, "hdr:2", None)
s = build_sampler("lavps", prior, r.config, **r.networks)
out = s.sample(pb, 24, seed=seeds, per_sample_noise=True).samples[pick]
x = clean[pick]
print("psnr", psnr(out, x).tolist(), "ssim", ssim(out, x).tolist())
err = (out - x).abs()
for i in range(3):
    bad = (err[i] > 0.4).nonzero()
    print(i, "pixels off by > 0.4:", len(bad), [(int(b[1]), int(b[2]), round(float(x[i, 0, b[1], b[2]]), 2), round(float(out[i, 0, b[1], b[2]]), 2), round(float(pb.y[pick[i], 0, b[1], b[2]]), 2)) for b in bad[:8]])
