"""K posterior samples per problem from LAVPS's default and from each peer at its strongest setting, on the
48 prior-draw problems of results/calibration/peers48 (same draws, operators, observations and sample seeds as
`lavps bench calibration --problems 48 --seed 0`), saved so that any score can be computed afterwards
(`table.py`: energy score, one-sample PSNR, PSNR of the K-sample mean, spread ratio).

    PYTHONPATH=src python results/calibration/energy48/run.py TASK OUT_DIR ROW:K:PROBLEMS [...]
    ROW: lavps | ddrm | diffpir | mgdm | dps;  e.g. lavps:6:48 ddrm:6:48 dps:6:16
Writes OUT_DIR/<task>__<row>.pt ({"samples": (P, K, C, H, W) float32, "seconds": per problem}) and appends a
line to OUT_DIR/runs.jsonl. Problems 0..PROBLEMS-1, so a row run on fewer problems pairs with the first ones.
"""

import json
import os
import sys
import time

import torch

torch.set_num_threads(1)
from lavps.api import load_prior, restore  # noqa: E402
from lavps.evaluation.calibration_bench import SAMPLE_STRIDE, calibration_problems, prior_draws  # noqa: E402
from lavps.samplers.presets import tuned_options  # noqa: E402

PROBLEMS, SEED, PRIOR_STEPS, SIGMA = 48, 0, 1000, 0.05
CACHE = os.environ.get("TRUTH_CACHE", "/work/scratch/peers48_truth.pt")


def row(name, spec):
    return {
        "lavps": ("lavps auto (default)", "lavps", None, {}),
        "ddrm": ("ddrm-100 (uniform grid, tuned eta)", "ddrm", "reference", tuned_options("ddrm", spec)),
        "diffpir": ("diffpir-100 (tuned)", "diffpir", "reference", tuned_options("diffpir", spec)),
        "mgdm": ("mgdm-ref", "mgdm", "reference", {}),
        "dps": ("dps-250 (reference)", "dps", "reference", {}),
    }[name]


spec, out_dir, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
os.makedirs(out_dir, exist_ok=True)
prior = load_prior()
if os.path.exists(CACHE):
    truth = torch.load(CACHE)
else:
    truth = prior_draws(prior, PROBLEMS, PRIOR_STEPS, SEED)
    torch.save(truth, CACHE + ".part")
    os.replace(CACHE + ".part", CACHE)
torch.save(truth, os.path.join(out_dir, "truth.pt"))
problems = calibration_problems(truth, spec, SIGMA, SEED)
for item in wanted:
    name, k, n = item.split(":")
    k, n = int(k), int(n)
    label, sampler, preset, settings = row(name, spec)
    samples, seconds = [], []
    for p, (op, obs) in enumerate(problems[:n]):
        start = time.perf_counter()
        seed = SAMPLE_STRIDE * p + 1  # sample i of problem p: seed + i, as in `lavps bench calibration`
        res = restore(obs.y, op, SIGMA, prior=prior, sampler=sampler, samples=k, seed=seed, preset=preset,
                      settings=dict(settings))  # fmt: skip
        seconds.append(time.perf_counter() - start)
        samples.append(res.samples.float().cpu())
    path = os.path.join(out_dir, f"{spec.replace(':', '_')}__{name}.pt")
    torch.save({"samples": torch.stack(samples), "seconds": seconds}, path + ".part")
    os.replace(path + ".part", path)
    entry = dict(
        operator=spec,
        row=name,
        label=label,
        samples=k,
        problems=n,
        file=os.path.basename(path),
        seconds_per_sample=sum(seconds) / (n * k),
        load_average=os.getloadavg(),
    )
    with open(os.path.join(out_dir, "runs.jsonl"), "a") as f:
        f.write(json.dumps(entry) + "\n")
    print(spec, label, f"{entry['seconds_per_sample']:.3f} s/sample", flush=True)
