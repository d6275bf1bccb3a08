"""Latent (and pixel) MGDM-reference vs LAVPS rows, interleaved PER DIGIT: for each digit every (prior, task,
row) runs in turn on that digit alone (one sample, its own seed), so the machine's load, which drifts over
minutes on a shared machine, falls on every row alike; seconds ratios are per digit (mean and 95% interval)
and of the totals. PSNR / SSIM of the decoded sample against the digit; passes: denoiser forwards and
backwards (the sampler's own count) and decoder forwards / backwards (VJPs), counted here.

    python scripts/bench_latent_paired.py --digits 16 --out results/latent/paired_fd

A row is SAMPLER:PRESET, lavps:PRESET:autograd (a latent prior's J v by double backward, the
implementation before the finite difference) or lavps:PRESET:innerN (N Adam steps after the guard).
Observations: noise seed 1000 + i, as bench_nonlinear.py.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

import torch

from lavps import api
from lavps.data.mnist import mnist_split
from lavps.evaluation.stats import mean_ci95
from lavps.jsonfile import write_json
from lavps.metrics import psnr, ssim
from lavps.operators import InverseProblem, parse_noise_spec
from lavps.priors.latent import LatentMeasurement, LatentPrior, image_shape
from lavps.samplers.registry import build_sampler
from lavps.workflows.settings import resolve_settings

TASKS = "sr:2@gaussian:0.05,gaussian_blur:9:2.0@gaussian:0.05,jpeg:10@gaussian:0.05"
ROWS = "mgdm:reference,lavps:auto,lavps:fastest,lavps:reference:autograd"


class _Counted(torch.autograd.Function):
    """Identity on the decoder's output that counts the backward passes through it."""

    @staticmethod
    def forward(ctx, image, counter):
        ctx.counter = counter
        return image.view_as(image)

    @staticmethod
    def backward(ctx, grad):
        ctx.counter["decoder_backwards"] += 1
        return grad, None


def count_decoder(prior: LatentPrior, counter: dict) -> None:
    decode = prior.decode

    def counted(z):
        counter["decoder_forwards"] += 1
        image = decode(z)
        return _Counted.apply(image, counter) if image.requires_grad else image

    prior.decode = counted


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--digits", type=int, default=16)
    parser.add_argument("--first", type=int, default=0, help="index of the first test digit (0: reported)")
    parser.add_argument("--priors", default="ldm:mnist,mnist")
    parser.add_argument("--tasks", default=TASKS)
    parser.add_argument("--rows", default=ROWS)
    parser.add_argument("--pixel-rows", default="mgdm:reference,lavps:auto")
    parser.add_argument("--out", type=Path, default=Path("results/latent/paired_fd"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    images, labels = mnist_split("test")
    picks = [int((labels == c % 10).nonzero()[c // 10]) for c in range(args.first, args.first + args.digits)]
    truth = images[picks]
    setups = []  # (prior spec, task, row label, sampler, problem of all digits, counter)
    for prior_spec in args.priors.split(","):
        prior = api.load_prior(prior_spec)
        latent = isinstance(prior, LatentPrior)
        counter = defaultdict(int)
        if latent:
            count_decoder(prior, counter)
        for task in args.tasks.split(","):
            spec, noise_spec = task.split("@")
            op, noise = api.operator(spec, image_shape(prior)), parse_noise_spec(noise_spec)
            draws = [torch.Generator().manual_seed(1000 + i) for i in range(len(truth))]
            y = torch.cat([noise.observe(truth[i : i + 1], op, g) for i, g in enumerate(draws)])
            for row in (args.rows if latent else args.pixel_rows).split(","):
                name, preset, *how = row.split(":")
                measure = LatentMeasurement(op, prior) if latent else op
                if latent and how == ["autograd"]:
                    measure.jvp_by_difference = False
                given = {"inner_steps": int(how[0][5:])} if how and how[0].startswith("inner") else {}
                resolved = resolve_settings(name, preset, given, prior, op.family, None)
                sampler = build_sampler(name, prior, resolved.config, **resolved.networks)
                ran = resolved.record.get("auto", {}).get("ran", resolved.record["preset"])
                setups.append((prior_spec, spec, row, ran, sampler, (y, measure, noise), prior, counter))
    results = defaultdict(lambda: defaultdict(list))
    for i in range(len(truth)):
        for prior_spec, spec, row, ran, sampler, (y, measure, noise), prior, counter in setups:
            problem = InverseProblem(y[i : i + 1], measure, noise)
            counter.clear()
            start = time.perf_counter()
            out = sampler.sample(problem, 1, seed=[i], per_sample_noise=True)
            sample = out.samples
            if isinstance(prior, LatentPrior):  # the decode is part of the sampler's work
                with torch.no_grad():
                    sample = prior.decode(sample)
            seconds = time.perf_counter() - start
            r = results[(prior_spec, spec, row)]
            r["psnr"].append(float(psnr(sample, truth[i : i + 1])[0]))
            r["ssim"].append(float(ssim(sample, truth[i : i + 1])[0]))
            r["seconds"].append(seconds)
            r["ran"] = ran
            cost = out.cost
            passes = {"denoiser_forwards": cost.denoiser_forwards, "denoiser_backwards": cost.denoiser_backwards}
            final = 1 if isinstance(prior, LatentPrior) else 0  # the final decode is not the sampler's
            r["passes"] = {**passes, "decoder_forwards": counter["decoder_forwards"] - final,
                           "decoder_backwards": counter["decoder_backwards"]}  # fmt: skip
            print(f"digit {i} {prior_spec} {spec} {row} PSNR {r['psnr'][-1]:.2f} {seconds:.2f} s", flush=True)
        write_json(args.out / "bench.json", {"digits": picks[: i + 1], "rows": _rows(results)})
    lines = _table(_rows(results))
    (args.out / "table.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _rows(results) -> list[dict]:
    return [{"prior": p, "task": t, "row": r, **v} for (p, t, r), v in results.items()]


def _table(rows: list[dict]) -> list[str]:
    """Per (prior, task): each row's PSNR / SSIM, its paired gap to the first row (MGDM-reference) and its
    seconds ratio (per digit: mean +- 95% interval; of the totals)."""
    lines = []
    for row in rows:
        base = next(r for r in rows if r["prior"] == row["prior"] and r["task"] == row["task"])
        n = len(row["psnr"])
        gap = mean_ci95([a - b for a, b in zip(row["psnr"], base["psnr"][:n], strict=True)])
        sgap = mean_ci95([a - b for a, b in zip(row["ssim"], base["ssim"][:n], strict=True)])
        ratio = mean_ci95([a / b for a, b in zip(row["seconds"], base["seconds"][:n], strict=True)])
        total = sum(row["seconds"]) / sum(base["seconds"][:n])
        p = row["passes"]
        lines.append(
            f"{row['prior']:9s} {row['task']:19s} {row['row']:26s} ran {row['ran']:9s} n {n:2d} "
            f"PSNR {mean_ci95(row['psnr'])[0]:6.2f} gap {gap[0]:+.2f} +- {gap[1]:.2f} dB  "
            f"SSIM {mean_ci95(row['ssim'])[0]:.3f} gap {sgap[0]:+.3f} +- {sgap[1]:.3f}  "
            f"{sum(row['seconds']) / n:5.2f} s/sample ratio {ratio[0]:.3f} +- {ratio[1]:.3f} (totals {total:.3f}x)  "
            f"denoiser {p['denoiser_forwards']} + {p['denoiser_backwards']}  "
            f"decoder {p['decoder_forwards']} + {p['decoder_backwards']}"
        )
    return lines


if __name__ == "__main__":
    main()
