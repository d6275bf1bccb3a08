"""LAVPS's draw of x_tau with its log-std floored at the bridge's (monkeypatched, not a library setting), on the
tuning prior draws of `lavps bench calibration --seed 500 --prior-steps 250 --samples 8` (see README.md here).

    FLOOR=1 [FT=T] [P=PROBLEMS] [SETTINGS='{"temperature": 1.0, ...}'] python run.py OUT.json TASK [TASK ...]

FLOOR=1 floors the diagonal draw's log-std at log s + log(FT) / 2 (s the bridge's std; FT default 1); FLOOR=0 runs
the library as it is. One row, `lavps` (preset auto) with SETTINGS over it.
"""

import json
import math
import os
import sys

import torch

from lavps.api import load_prior
from lavps.evaluation.calibration_bench import CalibrationRow, ImageCalibrationConfig, run_image_calibration
from lavps.samplers.gauss_vi import draw_from
from lavps.samplers.mgdm import MGDM

torch.set_num_threads(1)
if os.environ.get("FLOOR", "0") != "0":
    library_draw = MGDM.draw_x_tau
    floor_shift = 0.5 * math.log(float(os.environ.get("FT", "1")))

    def floored_draw(self, ctx, bridge, mu, rho, tau):
        if self.settings.draw == "linearised":  # the floor is defined on the diagonal draw only
            return library_draw(self, ctx, bridge, mu, rho, tau)
        floor = bridge.log_std.to(rho.dtype) + floor_shift
        return draw_from(mu, rho.maximum(floor), ctx.randn())

    MGDM.draw_x_tau = floored_draw

settings = json.loads(os.environ.get("SETTINGS", "{}"))
label = os.environ.get("LABEL", "lavps")
config = ImageCalibrationConfig(
    operators=tuple(sys.argv[2:]),
    rows=(CalibrationRow("lavps", "lavps", None, settings),),
    problems=int(os.environ.get("P", 24)),
    samples=8,
    prior_steps=250,
    seed=500,
)
result = run_image_calibration(config, load_prior(), progress=False)
with open(sys.argv[1], "w") as f:
    json.dump(result, f)
for r in result["results"]:
    report = r["report"]
    print(
        f"{label} {r['operator']} ES {report['energy_score']:.4f} spread {report['spread_ratio']:.2f} "
        f"psnr1 {r['psnr_one']:.2f} s/sample {r['seconds_per_sample']:.3f}",
        flush=True,
    )
