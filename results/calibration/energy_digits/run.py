"""Energy score on REAL test digits: the frontier's problems (`lavps demo --images 20`, seed 0: the same
digits, per-digit operators, noise and, for sample 0, the same sampler seeds as results/demo_frontier_20),
K samples per digit from each demo row, so a row's spread is scored against the real digit it came from.
The energy score is proper for the law of x* given y whatever that law is (here real digits, not prior
draws): a row whose samples are squeezed together gains one-sample PSNR and loses energy score.

    PYTHONPATH=src python results/calibration/energy_digits/run.py OUT.jsonl K TASK:ROW[,ROW...] [...]
    e.g. motion_blur:9:0.5:lavps,ddrm-20,ddrm-100
AMORTIZER=FILE runs LAVPS's rows with that amortizer (its card's per-family temperature and draw) instead of
the shipped one. ROW+VARIANT runs a demo row with the settings of VARIANTS[VARIANT] over its own, e.g. lavps-ref+cal
(`reference` with the calibration settings of `fastest`: no linearised variance shrink, temperature 2).
Appends one JSON line per (task, row): per digit the energy score (RMS units), the PSNR of every sample, the
PSNR of the K-sample mean, and seconds per sample.
"""

import json
import os
import sys

import torch

torch.set_num_threads(1)
from lavps.amortize.checkpoint import load_amortizer  # noqa: E402
from lavps.amortize.defaults import default_amortizer_path  # noqa: E402
from lavps.api import load_prior  # noqa: E402
from lavps.evaluation.calibration import energy_score, spread_ratio  # noqa: E402
from lavps.evaluation.demo import (  # noqa: E402
    DEMO_SAMPLERS,
    DemoConfig,
    draw_row_samples as _draw,  # the demo's sampling step, public since this script was run
    held_out_digits,
    row_options,
    sample_seeds,
    task_problem,
    trained_families,
)
from lavps.metrics import psnr  # noqa: E402

#: named settings over a row's own (ROW+NAME)
VARIANTS = {"cal": {"temperature": 2.0, "linear_variance": False}}

out, k = sys.argv[1], int(sys.argv[2])
config = DemoConfig(images=20, mean_images=0)
prior = load_prior()
net = load_amortizer(os.environ.get("AMORTIZER") or default_amortizer_path(prior), prior=prior)  # e.g. a new card
clean, labels, _ = held_out_digits(config.images, config.digit_offset)
shape = tuple(prior.shape)
for item in sys.argv[3:]:
    spec, _, names = item.rpartition(":")
    t_index = config.tasks.index(spec)
    family, problem = task_problem(config, t_index, spec, shape, clean)
    trained = family.spec in trained_families(net, shape)
    for label in names.split(","):
        row, _, variant = label.partition("+")
        name, options = DEMO_SAMPLERS[row]
        options = {**options, **VARIANTS[variant]} if variant else options
        opts, _ = row_options(config, name, options, net, family.spec, trained, False, True, family.multimodal)
        draws, seconds = [], 0.0
        for j in range(k):  # draw j of every digit; j = 0 is the demo's own sample
            seeds = [s + 1_000_000 * j for s in sample_seeds(config, t_index)]
            x, _, secs = _draw(prior, name, opts, problem, seeds)
            draws.append(x)
            seconds += secs
        samples = torch.stack(draws, 1)  # (digits, K, C, H, W)
        entry = dict(
            task=spec, row=label, samples=k, digits=config.images,
            energy_score=energy_score(samples, clean).tolist(), spread_ratio=spread_ratio(samples, clean),
            psnr=[psnr(samples[:, j], clean).tolist() for j in range(k)],
            psnr_mean=psnr(samples.mean(1), clean).tolist(),
            seconds_per_sample=seconds / (k * config.images), load_average=os.getloadavg(),
        )  # fmt: skip
        with open(out, "a") as f:
            f.write(json.dumps(entry) + "\n")
        print(
            spec,
            label,
            f"ES {sum(entry['energy_score']) / config.images:.4f}",
            f"PSNR(1) {sum(entry['psnr'][0]) / config.images:.2f}",
            flush=True,
        )
