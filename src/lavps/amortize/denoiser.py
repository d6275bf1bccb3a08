"""The network of the supervised amortized baseline (docs/METHOD.md section 6): a conditional denoiser

    D_psi(x_t, t, y) = D(x_t, t) + r_psi(x_t, D(x_t, t), y_img, sigma_t),

a residual around the frozen prior's denoiser (zero-initialised output: it starts as the prior). Its
training is `lavps.training.supervised`; the sampler that uses it is `lavps.samplers.supervised`.
"""

from __future__ import annotations

import torch

from .network import Network

__all__ = ["ConditionalDenoiser"]


class ConditionalDenoiser(Network):
    """Interface: forward(x_t, x0_prior, y_img, sigma_t) -> residual r, so that D_psi = x0_prior + r."""

    def denoise(self, x_t, x0_prior, y_img, sigma_t) -> torch.Tensor:
        """D_psi(x_t, t, y) = D(x_t, t) + r."""
        return x0_prior + self(x_t, x0_prior, y_img, sigma_t)
