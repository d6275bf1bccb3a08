"""LAVPS's default against the same preset with the temperature on the prior's share of the precision only
(`temperature_prior_only`, T = 3), on the 48 reported prior-draw problems of results/calibration/default_fix
(same problems and sample seeds), both rows in one process per task.

    PYTHONPATH=src python results/calibration/prior_only/run.py TASK [TASK ...]    # appends rows.jsonl here
"""

import json
import sys
from pathlib import Path

import torch

torch.set_num_threads(1)
from lavps.api import load_prior  # noqa: E402
from lavps.evaluation.calibration_bench import CalibrationRow, ImageCalibrationConfig, run_image_calibration  # noqa: E402
from lavps.evaluation.calibration_table import format_calibration_table  # noqa: E402

ROWS = (
    CalibrationRow("lavps default", "lavps"),
    CalibrationRow("lavps prior-only T3", "lavps", None, {"temperature": 3.0, "temperature_prior_only": True}),
)
out = Path(__file__).with_name("rows.jsonl")
prior = load_prior()
for task in sys.argv[1:]:
    config = ImageCalibrationConfig(operators=(task,), rows=ROWS, problems=48, samples=15, prior_steps=1000, seed=0)
    result = run_image_calibration(config, prior, progress=False)
    with out.open("a") as f:
        for entry in result["results"]:
            f.write(json.dumps(entry) + "\n")
    extra = {"psnr_one": "PSNR(1)", "seconds_per_sample": "s/sample"}
    print(format_calibration_table(result["results"], ("operator", "sampler"), extra), flush=True)
