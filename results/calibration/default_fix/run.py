"""LAVPS's default before / after the variance fix, and the peers at their strongest settings, on the same
prior draws (problem p is the same draw and operator in every run: a run with fewer problems is a subset).

    python run.py PROBLEMS ROWS OUT.jsonl     ROWS: comma list of old,new,ddrm,diffpir,mgdm,dps
Appends one JSON line per (task, row): the calibration report, one-sample PSNR, seconds per sample.
"""
import json
import os
import sys

import torch

torch.set_num_threads(1)
from lavps.api import load_prior  # noqa: E402
from lavps.evaluation.calibration_bench import CalibrationRow, ImageCalibrationConfig, run_image_calibration  # noqa: E402
import lavps.evaluation.calibration_bench as bench  # noqa: E402
from lavps.samplers.presets import tuned_options  # noqa: E402

_draw = bench.prior_draws
CACHE = os.environ.get("TRUTH_CACHE")  # a file of prior draws: draw p uses seed + p, so a prefix is a smaller run's


def cached_draws(prior, count, steps, seed, progress=False):
    """The first `count` draws from CACHE when it holds enough (same steps and seed), else drawn and saved."""
    if CACHE and os.path.exists(CACHE):
        saved = torch.load(CACHE)
        if saved["steps"] == steps and saved["seed"] == seed and len(saved["x"]) >= count:
            return saved["x"][:count]
    x = _draw(prior, count, steps, seed, progress)
    if CACHE:
        torch.save({"steps": steps, "seed": seed, "x": x}, CACHE)
    return x


bench.prior_draws = cached_draws

TASKS = ("sr:4", "box:0.3:0.5", "motion_blur:9:0.5")
# the default preset before the fix: fastest with the linearised variance shrink, at temperature 1
OLD = {"linear_variance": True, "temperature": 1.0}


def row(name: str, spec: str) -> CalibrationRow:
    if name == "old":
        return CalibrationRow("lavps auto (old: shrink, T=1)", "lavps", None, OLD)
    if name == "new":
        return CalibrationRow("lavps auto (new default)", "lavps")
    if name == "ddrm":
        return CalibrationRow("ddrm-100 (uniform grid, tuned eta)", "ddrm", "reference", tuned_options("ddrm", spec))
    if name == "diffpir":
        return CalibrationRow("diffpir-100 (tuned)", "diffpir", "reference", tuned_options("diffpir", spec))
    if name == "mgdm":
        return CalibrationRow("mgdm-ref", "mgdm", "reference")
    if name == "dps":
        return CalibrationRow("dps-250 (reference)", "dps", "reference")
    raise ValueError(name)


problems, names, out = int(sys.argv[1]), sys.argv[2].split(","), sys.argv[3]
tasks = sys.argv[4].split(",") if len(sys.argv) > 4 else TASKS
prior = load_prior()
for spec in tasks:
    config = ImageCalibrationConfig(operators=(spec,), problems=problems, samples=15,
                                    rows=tuple(row(n, spec) for n in names), prior_steps=1000)

    def keep(entry):
        entry = {**entry, "problems": problems, "load_average": os.getloadavg()}
        with open(out, "a") as f:
            f.write(json.dumps(entry) + "\n")
        c = entry["report"]["statistics"]
        print(spec, entry["sampler"], {k: [round(v["coverage"][i]["coverage"], 3) for i in (1, 2)] for k, v in c.items()},
              round(entry["psnr_one"], 2), round(entry["seconds_per_sample"], 3), entry["load_average"], flush=True)

    run_image_calibration(config, prior, progress=False, on_row=keep)
