"""LAVPS settings against MGDM-reference on TUNING digits (test offset 30 by default, never the reported
ones): paired PSNR gap per setting (mean +- 95% t-interval over the digits) and the seconds ratio, one
process, rows in turn.

    python scripts/tune_lavps.py --prior ldm:mnist --tasks sr:2,gaussian_blur:9:2.0 \
        --variants '[["reference", "reference", {"linear_below": 300}]]'

A variant is [label, preset, settings over the preset] or [label, preset, settings, amortizer path].
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from lavps import api
from lavps.data.mnist import mnist_split
from lavps.evaluation.stats import mean_ci95
from lavps.metrics import psnr
from lavps.operators import InverseProblem, parse_noise_spec
from lavps.priors.latent import LatentMeasurement, LatentPrior, image_shape
from lavps.samplers.registry import build_sampler
from lavps.workflows.settings import resolve_settings


def run(prior, problem, family, sampler, preset, settings, amortizer, truth):
    resolved = resolve_settings(sampler, preset, settings, prior, family, amortizer)
    start = time.perf_counter()
    out = build_sampler(sampler, prior, resolved.config, **resolved.networks).sample(
        problem, len(truth), seed=list(range(len(truth))), per_sample_noise=True
    )
    images = out.samples
    if isinstance(prior, LatentPrior):
        with torch.no_grad():
            images = prior.decode(images)
    return psnr(images, truth), time.perf_counter() - start, out.cost


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prior", default="ldm:mnist")
    parser.add_argument("--tasks", default="sr:2,gaussian_blur:9:2.0")
    parser.add_argument("--noise", default="gaussian:0.05")
    parser.add_argument("--variants", required=True, help="JSON list of [label, preset, settings(, amortizer)]")
    parser.add_argument("--first", type=int, default=30, help="index of the first test digit (tuning: 30)")
    parser.add_argument("--digits", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)
    images, labels = mnist_split("test")
    picks = [int((labels == c % 10).nonzero()[c // 10]) for c in range(args.first, args.first + args.digits)]
    truth = images[picks]
    prior = api.load_prior(args.prior)
    noise = parse_noise_spec(args.noise)
    for spec in args.tasks.split(","):
        op = api.operator(spec, image_shape(prior))
        draws = [torch.Generator().manual_seed(1000 + i) for i in range(len(truth))]
        y = torch.cat([noise.observe(truth[i : i + 1], op, g) for i, g in enumerate(draws)])
        latent = isinstance(prior, LatentPrior)
        problem = InverseProblem(y, LatentMeasurement(op, prior) if latent else op, noise)
        ref, ref_s, _ = run(prior, problem, op.family, "mgdm", "reference", {}, None, truth)
        print(f"{spec} mgdm-reference PSNR {ref.mean():.2f} {ref_s:.1f} s", flush=True)
        for label, preset, settings, *amortizer in json.loads(args.variants):
            net = (amortizer or [None])[0]
            scores, seconds, cost = run(prior, problem, op.family, "lavps", preset, settings, net, truth)
            gap, ci = mean_ci95((scores - ref).tolist())
            print(
                f"{spec} {label:24s} PSNR {scores.mean():.2f} gap {gap:+.2f} +- {ci:.2f} dB  {seconds:.1f} s "
                f"ratio {seconds / ref_s:.3f}x  fwd {cost.denoiser_forwards} bwd {cost.denoiser_backwards}",
                flush=True,
            )


if __name__ == "__main__":
    main()
