"""lavps: likelihood-guided diffusion posterior sampling (DPS, MGDM) and its amortized version LAVPS.

Fast and Robust Likelihood-Guided Diffusion Posterior Sampling with Amortized Variational Inference
(arXiv 2602.07102).

The image API (`lavps.restore`, `lavps.degrade`, `lavps.load_prior`, `lavps.operator`, `lavps.noise_model`) lives in
`lavps.api`; it is imported on first use so that `import lavps` stays light.
"""

from .lazy import lazy_attributes
from .version import __version__

__all__ = [
    "restore",
    "degrade",
    "load_prior",
    "operator",
    "noise_model",
    "Observation",
    "RestoreResult",
    "RunOptions",
    "__version__",
]

_API = ("restore", "degrade", "load_prior", "operator", "noise_model", "Observation", "RestoreResult", "RunOptions")
__getattr__ = lazy_attributes(__name__, dict.fromkeys(_API, "api"))
