"""DPS / MGDM-reference / LAVPS on non-linear measurements and Poisson noise, on MNIST test digits with the
shipped prior: PSNR to x* (mean and 95% interval over digits), seconds, passes; for phase retrieval the
share of samples in each mode class (docs/measurements.md). One run, one machine, rows in turn.

    python scripts/bench_nonlinear.py --digits 8 --out results/nonlinear

`--priors mnist,ldm:mnist` runs every task and row on each prior in turn (the pixel-vs-latent table:
on a latent prior the samplers run on z with A(decode(z)), PSNR is of the decoded samples; LAVPS's
default amortizer is then the shipped latent one). `--latent-lavps-settings JSON` overrides LAVPS's preset
on a latent prior.
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
from lavps.jsonfile import write_json
from lavps.metrics import psnr, ssim
from lavps.operators import InverseProblem, parse_noise_spec
from lavps.priors.latent import LatentMeasurement, LatentPrior, image_shape
from lavps.samplers.registry import build_sampler
from lavps.workflows.settings import resolve_settings

TASKS = [
    ("jpeg:10", "gaussian:0.05"),
    ("phase:2", "gaussian:0.05"),
    ("hdr:2", "gaussian:0.05"),
    ("denoise", "poisson:10"),
]
ROWS = [("dps", "reference"), ("mgdm", "reference"), ("lavps", "fast"), ("lavps", "auto")]


def run_row(prior, problem, family, sampler, preset, seeds, amortizer=None, overrides=None):
    amortizer = amortizer if sampler == "lavps" and amortizer else None
    resolved = resolve_settings(sampler, preset, overrides if sampler == "lavps" else {}, prior, family, amortizer)
    record = resolved.record
    start = time.perf_counter()
    sampler = build_sampler(sampler, prior, resolved.config, **resolved.networks)
    out = sampler.sample(problem, len(seeds), seed=seeds, per_sample_noise=True)
    images = out.samples
    if isinstance(prior, LatentPrior):  # the decode is part of the sampler's work
        with torch.no_grad():
            images = prior.decode(images)
    return out, images, time.perf_counter() - start, record


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=8)
    parser.add_argument("--phase-samples", type=int, default=2, help="samples per digit for phase retrieval")
    parser.add_argument("--first", type=int, default=0, help="index of the first test digit")
    parser.add_argument("--out", type=Path, default=Path("results/nonlinear"))
    parser.add_argument("--amortizer", default=None, help="LAVPS's amortizer (default: the shipped one)")
    parser.add_argument("--tasks", default=None, help="comma-separated OPERATOR@NOISE (default: the four above)")
    parser.add_argument(
        "--rows", default=None, help="comma-separated SAMPLER:PRESET[:shipped] (default: the four above; shipped: "
        "LAVPS with the shipped amortizer even when --amortizer is given)"
    )  # fmt: skip
    parser.add_argument("--priors", default="mnist", help="comma-separated prior specs, run in turn")
    parser.add_argument("--latent-lavps-settings", default=None, help="JSON dict over LAVPS's preset (latent priors)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    overrides = json.loads(args.latent_lavps_settings) if args.latent_lavps_settings else {}
    images, labels = mnist_split("test")
    # one digit per class in turn (test split order), so the few digits cover several classes
    picks = [int((labels == c % 10).nonzero()[c // 10]) for c in range(args.first, args.first + args.digits)]
    x = images[picks]
    rows, lines = [], []
    tasks = TASKS if args.tasks is None else [tuple(t.split("@")) for t in args.tasks.split(",")]
    row_list = ROWS if args.rows is None else [tuple(r.split(":")) for r in args.rows.split(",")]
    for prior_spec, (spec, noise_spec) in [(p, t) for p in args.priors.split(",") for t in tasks]:
        prior = api.load_prior(prior_spec)
        op = api.operator(spec, image_shape(prior))
        noise = parse_noise_spec(noise_spec)
        k = args.phase_samples if spec.startswith("phase") else 1
        y = torch.cat([noise.observe(x[i : i + 1], op, torch.Generator().manual_seed(1000 + i)) for i in range(len(x))])
        y = y.repeat_interleave(k, 0)
        truth = x.repeat_interleave(k, 0)
        latent = isinstance(prior, LatentPrior)
        problem = InverseProblem(y, LatentMeasurement(op, prior) if latent else op, noise)
        seeds = list(range(len(y)))
        for sampler, preset, *which in row_list:
            amortizer = None if which == ["shipped"] else args.amortizer
            out, samples, seconds, record = run_row(
                prior, problem, op.family, sampler, preset, seeds, amortizer, overrides if latent else {}
            )
            scores = psnr(samples, truth).reshape(len(x), k).mean(1).tolist()  # per digit
            sims = ssim(samples, truth).reshape(len(x), k).mean(1).tolist()
            mean, ci = mean_ci95(scores)
            row = {
                "prior": prior_spec, "task": spec, "noise": noise_spec, "sampler": sampler, "preset": record["preset"],
                "amortizer": record.get("amortizer") if sampler == "lavps" else None,
                "ran": record.get("auto", {}).get("ran", record["preset"]), "psnr": mean, "psnr_ci95": ci,
                "ssim": mean_ci95(sims)[0], "psnr_per_digit": scores, "seconds": seconds,
                "seconds_per_sample": seconds / len(y), "samples": len(y),
                "denoiser_forwards": out.cost.denoiser_forwards, "denoiser_backwards": out.cost.denoiser_backwards,
            }  # fmt: skip
            if spec.startswith("phase"):
                classes, aligned = phase_mode_classes(samples, truth, op.oversampling)
                row["mode_share"] = {c: classes.count(c) / len(classes) for c in MODE_CLASSES}
                row["aligned_psnr"] = mean_ci95(aligned.reshape(len(x), k).mean(1).tolist())
            rows.append(row)
            modes = (
                ""
                if "mode_share" not in row
                else "  "
                + " ".join(f"{c} {v:.2f}" for c, v in row["mode_share"].items())
                + f"  aligned {row['aligned_psnr'][0]:.2f}"
            )
            line = (
                f"{prior_spec:9s} {spec:8s} {noise_spec:14s} {sampler:6s} {row['ran']:10s} "
                f"{'shipped' if which else '':8s} "
                f"PSNR {mean:6.2f} +- {ci:5.2f}  "
                f"SSIM {row['ssim']:.3f}  {seconds:7.1f} s ({row['seconds_per_sample']:.2f} s/sample){modes}"
            )
            print(line, flush=True)
            lines.append(line)
            settings = {"digits": picks, "amortizer": args.amortizer, "latent_lavps_settings": overrides}
            write_json(args.out / "nonlinear.json", {**settings, "rows": rows})
    (args.out / "table.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
