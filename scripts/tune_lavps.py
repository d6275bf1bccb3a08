"""LAVPS settings against MGDM-reference on TUNING digits (test offset 30 by default, never the reported
ones): paired PSNR gap per setting (mean +- 95% t-interval over the digits) and the seconds ratio, one
process, rows in turn.

    python scripts/tune_lavps.py --prior ldm:mnist --tasks sr:2,gaussian_blur:9:2.0 \
        --variants '[["reference", "reference", {"linear_below": 300}]]'

A variant is [label, preset, settings over the preset] or [label, preset, settings, amortizer path].
`--dps` adds DPS-reference's gap; on phase retrieval each row also prints its mode shares (identity / flipped /
shifted / other, lavps.evaluation.phase_modes) and the gap in PSNR to the best-aligned copy of x*;
`--json FILE` keeps every per-digit number.
On a latent prior the settings' key "jvp" (not a sampler setting): "autograd" takes `LatentMeasurement`'s J v
by double backward instead of its finite difference.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from lavps import api
from lavps.data.mnist import mnist_split
from lavps.evaluation.phase_modes import MODE_CLASSES, phase_mode_classes
from lavps.evaluation.stats import mean_ci95
from lavps.metrics import psnr
from lavps.operators import InverseProblem, parse_noise_spec
from lavps.priors.latent import LatentMeasurement, LatentPrior, image_shape
from lavps.samplers.registry import build_sampler
from lavps.workflows.settings import resolve_settings


def run(prior, problem, family, sampler, preset, settings, amortizer, truth):
    settings = dict(settings)
    if isinstance(problem.operator, LatentMeasurement):
        problem.operator.jvp_by_difference = settings.pop("jvp", "difference") == "difference"
    resolved = resolve_settings(sampler, preset, settings, prior, family, amortizer)
    start = time.perf_counter()
    out = build_sampler(sampler, prior, resolved.config, **resolved.networks).sample(
        problem, len(truth), seed=list(range(len(truth))), per_sample_noise=True
    )
    images = out.samples
    if isinstance(prior, LatentPrior):
        with torch.no_grad():
            images = prior.decode(images)
    return images, time.perf_counter() - start, out.cost


def scores(op, images, truth) -> dict:
    """Per-digit PSNR, and on phase retrieval the aligned PSNR and mode class."""
    out = {"psnr": psnr(images, truth).tolist()}
    if hasattr(op, "oversampling"):
        modes, aligned = phase_mode_classes(images, truth, op.oversampling)
        out.update(aligned=aligned.tolist(), modes=modes)
    return out


def per_digit(values: list[float], group: int) -> list[float]:
    """Means over each digit's `group` samples: the interval is over digits, not correlated samples."""
    return [sum(values[i : i + group]) / group for i in range(0, len(values), group)]


def line(spec, label, got, ref, seconds, ref_s, cost, group=1) -> str:
    gap, ci = mean_ci95(per_digit([a - b for a, b in zip(got["psnr"], ref["psnr"], strict=True)], group))
    text = f"{spec} {label:24s} PSNR {sum(got['psnr']) / len(got['psnr']):.2f} gap {gap:+.2f} +- {ci:.2f} dB"
    if "aligned" in got:
        agap, aci = mean_ci95(per_digit([a - b for a, b in zip(got["aligned"], ref["aligned"], strict=True)], group))
        shares = " / ".join(f"{got['modes'].count(m) / len(got['modes']):.2f}" for m in MODE_CLASSES)
        mean = sum(got["aligned"]) / len(got["aligned"])
        text += f"  aligned {mean:.2f} gap {agap:+.2f} +- {aci:.2f}  modes {shares}"
    passes = f"fwd {cost.denoiser_forwards} bwd {cost.denoiser_backwards}"
    return text + f"  {seconds:.1f} s ratio {seconds / ref_s:.3f}x  {passes}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prior", default="ldm:mnist")
    parser.add_argument("--tasks", default="sr:2,gaussian_blur:9:2.0")
    parser.add_argument("--noise", default="gaussian:0.05")
    parser.add_argument("--variants", required=True, help="JSON list of [label, preset, settings(, amortizer)]")
    parser.add_argument("--first", type=int, default=30, help="index of the first test digit (tuning: 30)")
    parser.add_argument("--digits", type=int, default=8)
    parser.add_argument("--samples", type=int, default=1, help="samples per digit (own seeds, same observation)")
    parser.add_argument("--dps", action="store_true", help="also DPS-reference")
    parser.add_argument("--amortizer", help="LAVPS's amortizer for variants that name none (default: the shipped one)")
    parser.add_argument(
        "--ref-json",
        type=Path,
        help="MGDM-reference's per-sample record from an earlier --json run with the same "
        "digits, seeds and --samples (deterministic): not rerun; its seconds ratio is then across runs, not valid",
    )
    parser.add_argument("--json", type=Path, help="write every per-digit number here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    images, labels = mnist_split("test")
    picks = [int((labels == c % 10).nonzero()[c // 10]) for c in range(args.first, args.first + args.digits)]
    truth = images[picks]
    observed = truth  # one observation per digit; --samples draws share it
    prior = api.load_prior(args.prior)
    noise = parse_noise_spec(args.noise)
    record = {}
    truth = observed.repeat_interleave(args.samples, 0)
    for spec in args.tasks.split(","):
        op = api.operator(spec, image_shape(prior))
        draws = [torch.Generator().manual_seed(1000 + i) for i in range(len(observed))]
        y = torch.cat([noise.observe(observed[i : i + 1], op, g) for i, g in enumerate(draws)])
        y = y.repeat_interleave(args.samples, 0)
        latent = isinstance(prior, LatentPrior)
        problem = InverseProblem(y, LatentMeasurement(op, prior) if latent else op, noise)
        if args.ref_json:
            ref = json.loads(args.ref_json.read_text())[spec]["mgdm-reference"]
            ref_s = ref["seconds"]
            print(f"{spec} mgdm-reference from {args.ref_json} (seconds ratios below: across runs)", flush=True)
        else:
            ref_images, ref_s, ref_cost = run(prior, problem, op.family, "mgdm", "reference", {}, None, truth)
            ref = scores(op, ref_images, truth)
            print(line(spec, "mgdm-reference", ref, ref, ref_s, ref_s, ref_cost, args.samples), flush=True)
        record[spec] = {"mgdm-reference": {**ref, "seconds": ref_s}}
        rows = [("dps-reference", "dps", "reference", {}, None)] if args.dps else []
        for label, preset, settings, *net in json.loads(args.variants):
            rows.append((label, "lavps", preset, settings, (net or [args.amortizer])[0]))
        for label, sampler, preset, settings, net in rows:
            images, seconds, cost = run(prior, problem, op.family, sampler, preset, settings, net, truth)
            got = scores(op, images, truth)
            print(line(spec, label, got, ref, seconds, ref_s, cost, args.samples), flush=True)
            record[spec][label] = {**got, "seconds": seconds, "settings": settings, "preset": preset}
        if args.json:
            args.json.write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
