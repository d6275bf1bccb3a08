"""lavps: likelihood-guided diffusion posterior sampling (DPS, MGDM) and its amortized version LAVPS.

Fast and Robust Likelihood-Guided Diffusion Posterior Sampling with Amortized Variational Inference
(arXiv 2602.07102).
"""

__version__ = "0.1.0"
