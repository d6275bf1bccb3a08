"""Blur operators (circular convolution via the FFT) and blur-kernel generators.

Boundary convention: periodic. A x = k (*) x is the circular convolution of every channel with the
kernel, whose centre pixel (kh // 2, kw // 2) sits at the origin, so a symmetric kernel does not
shift the image. In the Fourier domain A is diagonal, A = F^H diag(K) F with K = DFT of the
zero-padded, centred kernel, which gives in closed form and EXACTLY (up to float round-off):
  - adjoint  A^T y = F^H diag(conj K) F y  (circular correlation);
  - singular values |K_f| (one per frequency f, repeated over channels);
  - pseudo-inverse A^+ y = F^H diag(P) F y, P_f = 1 / K_f where |K_f| > rcond * max|K|, else 0.
A^+ is the exact Moore-Penrose inverse of A with singular values below the threshold dropped: the
identities A^+ A A^+ = A^+, (A A^+)^T = A A^+, (A^+ A)^T = A^+ A hold exactly, and
||A A^+ A x - A x|| <= rcond * max|K| * ||x||, with equality to round-off when no |K_f| lies below
the threshold (rcond = 0 inverts every nonzero frequency).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .base import LinearOperator
from .svd import FourierSVD

__all__ = ["CircularBlur", "gaussian_kernel", "motion_kernel"]


class CircularBlur(LinearOperator):
    """A x = k (*) x, periodic boundary, on images (B, C, H, W); same shape out.

    Args:
        kernel: (kh, kw) shared by the batch or (B, kh, kw) one per sample; kh <= H, kw <= W.
        image_shape: (C, H, W).
        rcond: relative threshold of the pseudo-inverse (see the module docstring).
    """

    name = "blur"
    saved_kind = "blur"

    def saved_state(self) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
        return {"rcond": repr(self.rcond)}, {"kernel": self.kernel.contiguous()}

    @classmethod
    def from_saved(cls, shape, meta, tensors) -> CircularBlur:
        return cls(tensors["kernel"], shape, rcond=float(meta["rcond"]))

    def __init__(self, kernel: torch.Tensor, image_shape: tuple[int, int, int], rcond: float = 1e-3):
        image_shape = tuple(int(s) for s in image_shape)
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (C, H, W), got {image_shape}")
        if kernel.ndim not in (2, 3):
            raise ValueError(f"blur kernel must have shape (k, k) or (B, k, k), got {tuple(kernel.shape)}")
        if not bool(torch.isfinite(kernel).all()):
            raise ValueError("blur kernel contains NaN or inf")
        kh, kw = kernel.shape[-2:]
        if kh > image_shape[1] or kw > image_shape[2]:
            raise ValueError(
                f"blur kernel of size {kh}x{kw} is larger than the image {image_shape[1]}x{image_shape[2]}"
            )
        if not rcond >= 0:
            raise ValueError(f"rcond must be >= 0, got {rcond}")
        self.kernel = kernel.to(torch.float64)
        self.batch_size = kernel.shape[0] if kernel.ndim == 3 else None
        self.in_shape = self.out_shape = image_shape
        self.rcond = float(rcond)

    def spectrum(
        self, dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu", onesided: bool = True
    ) -> torch.Tensor:
        """K = rfft2 (fft2 if not onesided) of the centred, zero-padded kernel: (H, W') or (B, 1, H, W')."""
        _, h, w = self.in_shape
        k = self.kernel.to(dtype).to(device)  # cast on the CPU first: float64 never reaches MPS
        kh, kw = k.shape[-2:]
        padded = F.pad(k, (0, w - kw, 0, h - kh))
        padded = torch.roll(padded, shifts=(-(kh // 2), -(kw // 2)), dims=(-2, -1))
        spec = torch.fft.rfft2(padded) if onesided else torch.fft.fft2(padded)
        return spec if self.batch_size is None else spec[:, None]

    def svd(self) -> FourierSVD:
        """Singular vectors = Fourier modes (per channel), singular values |K_f| (exact, float64)."""
        return FourierSVD(self.spectrum(torch.float64, onesided=False), self.in_shape)

    def gram_diagonal(self) -> torch.Tensor:
        """Periodic boundary: every pixel sees the whole kernel, diag(A^T A) = sum(k^2) everywhere."""
        energy = (self.kernel * self.kernel).sum((-2, -1)).reshape(-1, 1, 1, 1)
        return energy.expand(energy.shape[0], *self.in_shape).clone()

    def _apply(self, x: torch.Tensor, multiplier: torch.Tensor) -> torch.Tensor:
        return torch.fft.irfft2(torch.fft.rfft2(x) * multiplier, s=x.shape[-2:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self._apply(x, self.spectrum(x.dtype, x.device))

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        self.check_observation(y)
        return self._apply(y, self.spectrum(y.dtype, y.device).conj())

    def pinv(self, y: torch.Tensor) -> torch.Tensor:
        """A^+ y: invert the frequencies with |K_f| > rcond * max|K| (per sample), zero the rest."""
        self.check_observation(y)
        k = self.spectrum(torch.float64, "cpu")  # thresholds in float64 on the CPU, then cast and moved
        mag = k.abs()
        peak = mag.amax(dim=(-2, -1), keepdim=True)
        keep = mag > self.rcond * peak
        p = torch.where(keep, 1.0 / torch.where(keep, k, torch.ones_like(k)), torch.zeros_like(k))
        return self._apply(y, p.to(torch.complex128 if y.dtype == torch.float64 else torch.complex64).to(y.device))

    def regularized_inverse(self, y: torch.Tensor, lam: float) -> torch.Tensor:
        """Tikhonov inverse (A^T A + lam I)^{-1} A^T y = F^H diag(conj K / (|K|^2 + lam)) F y, lam > 0."""
        self.check_observation(y)
        if not lam > 0:
            raise ValueError(f"lam must be > 0, got {lam}")
        k = self.spectrum(y.dtype, y.device)
        return self._apply(y, k.conj() / (k.abs() ** 2 + lam))

    def _dtype(self) -> torch.dtype:
        return torch.float64


def gaussian_kernel(size: int, std: float) -> torch.Tensor:
    """Isotropic Gaussian kernel (size, size), float64, non-negative, sum 1: exp(-|i - c|^2 / (2 std^2))."""
    if not (isinstance(size, int) and size >= 1):
        raise ValueError(f"kernel size must be an integer >= 1, got {size!r}")
    if not (math.isfinite(std) and std > 0):
        raise ValueError(f"Gaussian std must be a finite number > 0, got {std!r}")
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-((r / std) ** 2) / 2)  # r / std first: std**2 overflows for std > 1e154
    k = g[:, None] * g[None, :]
    return k / k.sum()


def _smoothed_noise(shape: tuple[int, int, int], std_nodes: float, generator: torch.Generator) -> torch.Tensor:
    """White noise (B, 2, n) convolved along the last axis with a unit-L2 Gaussian (a GP-like path)."""
    b, c, n = shape
    r = math.ceil(3 * std_nodes)
    t = torch.arange(-r, r + 1, dtype=torch.float64)
    filt = torch.exp(-(t**2) / (2 * std_nodes**2))
    filt = filt / filt.norm()
    white = torch.randn(b * c, 1, n + 2 * r, generator=generator, dtype=torch.float64)
    return F.conv1d(white, filt.view(1, 1, -1)).view(b, c, n)


def motion_kernel(
    size: int, intensity: float, generator: torch.Generator, batch_size: int | None = None
) -> torch.Tensor:
    """Random camera-shake kernels: a smoothed random-walk trajectory rasterised on a size x size grid.

    The camera velocity is v(t) = (cos a, sin a) + 2 * intensity * g(t), a ~ U[0, 2 pi), g a smoothed
    Gaussian noise path (64 nodes, correlation length shrinking from 9.6 to 3.2 nodes as intensity
    grows), so intensity 0 gives a straight streak and intensity 1 an erratic, curling one. The path
    (cumulative sum of v) is centred and scaled so its larger extent is (0.25 + 0.75 * intensity) *
    (size - 1) pixels, then splatted bilinearly at uniform time steps (exposure time per position).

    Args:
        size: kernel side (>= 1). intensity: in [0, 1]. generator: the only source of randomness.
        batch_size: None for one kernel (size, size), else B kernels (B, size, size).
    Returns:
        float64 kernels, non-negative, each summing to 1. Kernel i uses draws i of each batched draw.
    """
    if not (isinstance(size, int) and size >= 1):
        raise ValueError(f"kernel size must be an integer >= 1, got {size!r}")
    if not 0.0 <= intensity <= 1.0:
        raise ValueError(f"motion blur intensity must be in [0, 1], got {intensity!r}")
    b, n = (1 if batch_size is None else int(batch_size)), 64
    angle = 2 * math.pi * torch.rand(b, 1, generator=generator, dtype=torch.float64)
    wiggle = _smoothed_noise((b, 2, n), n * (0.15 - 0.1 * intensity), generator)
    vel = torch.stack([angle.cos(), angle.sin()], dim=1) + 2.0 * intensity * wiggle  # (b, 2, n)
    pos = torch.cumsum(vel, dim=-1)
    lo, hi = pos.amin(-1, keepdim=True), pos.amax(-1, keepdim=True)
    extent = (hi - lo).amax(1, keepdim=True).clamp_min(1e-12)
    target = (0.25 + 0.75 * intensity) * (size - 1)
    pos = (pos - (lo + hi) / 2) * (target / extent) + (size - 1) / 2
    pos = F.interpolate(pos, size=max(256, 32 * size), mode="linear", align_corners=True)
    kernels = torch.zeros(b, size * size, dtype=torch.float64)
    if size == 1:
        kernels += 1.0
    else:
        base = pos.floor().clamp(0, size - 2)
        frac = (pos - base).clamp(0, 1)
        ix, iy = base[:, 0].long(), base[:, 1].long()
        fx, fy = frac[:, 0], frac[:, 1]
        for dy, dx, w in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx), (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
            kernels.scatter_add_(1, (iy + dy) * size + ix + dx, w)
    kernels = (kernels / kernels.sum(1, keepdim=True)).view(b, size, size)
    return kernels[0] if batch_size is None else kernels
