"""Quick: the bridge-variance floor on LAVPS's draw of x_tau (monkeypatched), tuning prior draws seed 500."""
import json, os, sys
import torch
torch.set_num_threads(1)
from lavps.api import load_prior
from lavps.evaluation.calibration_bench import CalibrationRow, ImageCalibrationConfig, run_image_calibration
from lavps.samplers.mgdm import MGDM
from lavps.samplers.gauss_vi import draw_from

MODE = os.environ.get("FLOOR", "0")
if MODE != "0":
    orig = MGDM.draw_x_tau
    def patched(self, ctx, bridge, mu, rho, tau):
        s = self.settings
        if s.draw == "linearised":
            return orig(self, ctx, bridge, mu, rho, tau)
        floor = bridge.log_std.to(rho.dtype) + 0.5 * __import__("math").log(float(os.environ.get("FT", "1")))
        return draw_from(mu, rho.maximum(floor), ctx.randn())
    MGDM.draw_x_tau = patched
settings = json.loads(os.environ.get("SETTINGS", "{}"))
label = os.environ.get("LABEL", "lavps")
tasks = sys.argv[2:]
cfg = ImageCalibrationConfig(operators=tuple(tasks), rows=(CalibrationRow("lavps", "lavps", None, settings),),
                             problems=int(os.environ.get("P", 24)), samples=8, prior_steps=250, seed=500)
res = run_image_calibration(cfg, load_prior(), progress=False)
json.dump(res, open(sys.argv[1], "w"))
for r in res["results"]:
    print(label, r["operator"], "ES %.4f spread %.2f psnr1 %.2f s/sample %.3f" % (r["report"]["energy_score"], r["report"]["spread_ratio"], r["psnr_one"], r["seconds_per_sample"]), flush=True)
