"""Prototype: on hdr, LAVPS's Gauss-Newton candidate linearised at an observation-consistent clean estimate
(mid-observed pixels at y/s, saturated-observed pixels on y's side of the clip), its bridge mean moved by
sqrt(abar) (target - x0)."""
import os, sys, runpy, math
import torch
import lavps.samplers.lavps as lv
from lavps.objective import BridgePrior
from lavps.operators.nonlinear import HighDynamicRange
MARGIN = float(os.environ.get("PINV_MARGIN", "1.1"))
orig = lv.LAVPS.linear_start
def linear_start(self, ctx, bridge, x0, tau):
    pb = ctx.problem; op = pb.operator
    if not isinstance(op, HighDynamicRange):
        return orig(self, ctx, bridge, x0, tau)
    s = op._param(op.scale, x0); y = pb.y.to(x0.dtype)
    mid = y.abs() < 1 - 3 * pb.sigma
    on_side = (s * x0 * torch.sign(y)) >= 1
    target = torch.where(mid, y / s, torch.where(on_side, x0, torch.sign(y) * MARGIN / s))
    a = self.schedule.abar(tau)
    a = torch.as_tensor(a, dtype=x0.dtype).reshape(-1, *([1] * (x0.ndim - 1))) if torch.as_tensor(a).ndim else torch.as_tensor(a, dtype=x0.dtype)
    moved = BridgePrior(bridge.mean + a.sqrt() * (target - x0), bridge.log_std)
    return orig(self, ctx, moved, target, tau)
lv.LAVPS.linear_start = linear_start
sys.argv = ["tune_lavps.py"] + sys.argv[1:]
sys.path.insert(0, "scripts")
runpy.run_path("scripts/tune_lavps.py", run_name="__main__")
