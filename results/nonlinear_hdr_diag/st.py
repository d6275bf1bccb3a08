"""tune_lavps on hdr with a saturation-aware surrogate gradient: at a saturated pixel the clip's zero
derivative is replaced by s where the incoming gradient is an outlier (|g| > K x the RMS of g over the
sample's unsaturated pixels): the observation says the pixel is on the wrong side of the clip."""
import os, sys, runpy
import torch
import lavps.operators.nonlinear as nl
K = float(os.environ["K"])
class Clip(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u):
        ctx.save_for_backward(u)
        return u.clamp(-1.0, 1.0)
    @staticmethod
    def backward(ctx, g):
        (u,) = ctx.saved_tensors
        inside = u.abs() <= 1.0
        with torch.no_grad():
            gi = torch.where(inside, g, torch.zeros_like(g)).flatten(1)
            n = inside.flatten(1).sum(1).clamp(min=1)
            rms = (gi.square().sum(1) / n).sqrt().view(-1, *[1] * (g.dim() - 1))
            off = (~inside) & (g.abs() > K * rms) & (rms > 0)
        return g * (inside | off).to(g.dtype)
def forward(self, x):
    self.check_input(x)
    return Clip.apply(self._param(self.scale, x) * x)
def exact(self, x):
    self.check_input(x)
    return (self._param(self.scale, x) * x).clamp(-1.0, 1.0)
nl.HighDynamicRange.forward = forward
nl.HighDynamicRange.exact_forward = exact
sys.argv = ["tune_lavps.py"] + sys.argv[1:]
sys.path.insert(0, "/work/main/scripts")
runpy.run_path("/work/main/scripts/tune_lavps.py", run_name="__main__")
