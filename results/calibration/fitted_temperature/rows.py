"""Several LAVPS rows (default, or settings KEY=VALUE,...) on the same calibration problems, one process.

    PYTHONPATH=src python rows.py TASK PROBLEMS SEED PRIOR_STEPS OUT.jsonl ROW [ROW ...]
    e.g. rows.py sr:4 48 0 1000 reported_sr4.jsonl default temperature=1.75     (the reported problems)
         rows.py sr:4 24 500 250 tuning.jsonl temperature=2,temperature_above=200,temperature_below=1
         rows.py sr:4 48 0 1000 reported_sr4.jsonl default draw=linearised,temperature=1

Problems, operators, noise and sample seeds are those of `lavps bench calibration --seed SEED` (reported:
seed 0, 1000-step draws; tuning: seed 500, 250-step draws). Appends one JSON line per row; prints the table.
"""

import json
import sys

import torch

from lavps.api import load_prior
from lavps.evaluation.calibration_bench import CalibrationRow, ImageCalibrationConfig, run_image_calibration
from lavps.evaluation.calibration_table import format_calibration_table

torch.set_num_threads(1)


def _number_or_text(v):
    try:
        return float(v)
    except ValueError:
        return v  # e.g. draw=linearised


def row(spec):
    if spec == "default":
        return CalibrationRow("default", "lavps")
    s = {}
    for kv in spec.split(","):
        k, v = kv.split("=")
        s[k] = (v == "true") if v in ("true", "false") else (int(v) if v.isdigit() else _number_or_text(v))
    return CalibrationRow(spec, "lavps", None, s)


task, n, seed, steps, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rows = tuple(row(s) for s in sys.argv[6:])
prior = load_prior()
config = ImageCalibrationConfig(operators=(task,), rows=rows, problems=n, samples=15, prior_steps=steps, seed=seed)
result = run_image_calibration(config, prior, progress=False)
with open(out, "a") as f:
    for e in result["results"]:
        f.write(json.dumps(e) + "\n")
print(
    format_calibration_table(
        result["results"], ("operator", "sampler"), {"psnr_one": "PSNR(1)", "seconds_per_sample": "s/sample"}
    ),
    flush=True,
)
