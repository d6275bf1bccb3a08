"""LAVPS default (auto) calibration on prior draws and cheap variance fixes, same problems and seeds."""
import json, sys, time
import torch
torch.set_num_threads(1)
from lavps.api import load_prior
from lavps.evaluation.calibration_bench import CalibrationRow, ImageCalibrationConfig, run_image_calibration
from lavps.evaluation.calibration_table import format_calibration_table, plot_coverage, plot_rank_histograms
from pathlib import Path
P = int(sys.argv[1]); STEPS = int(sys.argv[2]); out = Path(sys.argv[3])
rows = (
    CalibrationRow("lavps", "lavps"),
    CalibrationRow("lavps:no-shrink", "lavps", None, {"linear_variance": False}),
    CalibrationRow("lavps:no-final-tau", "lavps", None, {"final_tau": None}),
)
cfg = ImageCalibrationConfig(operators=("motion_blur:9:0.5", "sr:4"), problems=P, samples=15,
                             rows=rows, prior_steps=STEPS)
prior = load_prior()
def show(entry):
    print(format_calibration_table([entry], ("operator", "sampler"), {"psnr_one": "PSNR(1)", "seconds_per_sample": "s/sample"}), flush=True)
res = run_image_calibration(cfg, prior, progress=False, on_row=show)
out.mkdir(parents=True, exist_ok=True)
from lavps.jsonfile import write_json
write_json(out / "calibration.json", res)
keys = ("operator", "sampler")
(out / "table.txt").write_text(format_calibration_table(res["results"], keys, {"psnr_one": "PSNR(1)", "seconds_per_sample": "s/sample"}) + "\n")
plot_coverage(res["results"], keys, out / "coverage.png")
plot_rank_histograms(res["results"], keys, out / "rank_histograms.png")
print("done", flush=True)
