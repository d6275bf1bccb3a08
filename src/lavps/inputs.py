"""What the image API accepts: images, observations and seeds, read and checked before any work.

Images are tensors in [-1, 1], one (C, H, W) or a batch (B, C, H, W), or an image file; observations may also
be the `.observation.pt` that `lavps degrade` writes. Each check names what is wrong in one sentence.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import torch

from .imaging.io import fit_image, load_image, read_observation_file
from .operators import LinearOperator, Measurement
from .random import check_count, check_seed

__all__ = [
    "ImageLike",
    "image_batch",
    "observation_batch",
    "check_clean",
    "check_seed",
    "check_count",
    "check_sigma",
    "check_observation_scale",
    "check_poisson_counts",
]

ImageLike = torch.Tensor | str | Path

#: a clean image with no negative value and a maximum above this reads as 0..255 (or 0..65535) levels
LEVELS_ABOVE = 1.5


def check_sigma(sigma) -> float:
    """sigma_y as a float: a number, or a tensor / array holding one (one noise level for the observation).
    A bool (sigma=True would be 1.0) and several values are refused; the range is GaussianNoise's rule."""
    if isinstance(sigma, torch.Tensor):
        sigma = sigma.detach()
    size = sigma.numel() if isinstance(sigma, torch.Tensor) else getattr(sigma, "size", 1)  # NumPy: .size
    if isinstance(sigma, bool) or size != 1:
        raise TypeError(f"sigma must be one number sigma_y > 0 (images in [-1, 1]), got {sigma!r}")
    try:
        return float(sigma)
    except (TypeError, ValueError):
        raise TypeError(f"sigma must be one number sigma_y > 0 (images in [-1, 1]), got {sigma!r}") from None


def check_clean(x: torch.Tensor, what: str = "the clean image") -> None:
    """A clean image (degrade's input, a reference) is finite and on the [-1, 1] scale of every prior: a NaN,
    or 8-bit levels passed as is, would otherwise be degraded or scored without a word. (Values beyond
    [-1, 1] on both sides are a prior's own draws, e.g. `lavps bench calibration`'s: allowed.)"""
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{what} holds {int((~torch.isfinite(x)).sum())} non-finite value(s) (nan/inf)")
    low, high = float(x.min()), float(x.max())
    if low >= 0 and high > LEVELS_ABOVE:
        raise ValueError(
            f"{what} spans {low:g}..{high:g}, which reads as pixel levels; lavps images lie in [-1, 1] "
            "(from 0..255: x / 127.5 - 1)"
        )


def image_batch(
    x: ImageLike, shape: tuple[int, ...], fit: str | None = None, by: str = "the prior expects"
) -> torch.Tensor:
    """(B, C, H, W) float32 from a tensor (C, H, W) / (B, C, H, W) or an image file, of `shape` or fitted
    to it with fit = "crop" | "resize" (`lavps.imaging.io.fit_image`); `by` names who expects `shape`."""
    if isinstance(x, (str, Path)):
        return load_image(x, shape, fit, by=by)
    if not isinstance(x, torch.Tensor):
        array = hasattr(x, "__array__") or hasattr(x, "__array_interface__")  # NumPy, PIL
        hint = " (torch.from_numpy(np.asarray(a)) for an array or PIL image: (C, H, W) in [-1, 1])" if array else ""
        raise TypeError(f"expected an image tensor or a PNG path, got {type(x).__name__}{hint}")
    if x.layout != torch.strided or not (x.is_floating_point() and not x.is_complex()):  # else cast without a word
        kind = "sparse" if x.layout != torch.strided else str(x.dtype).removeprefix("torch.")
        raise TypeError(f"an image or observation is a dense real float tensor, got {kind}")
    x = x.detach().float()  # a tensor that requires grad is read as its values
    if x.ndim == len(shape):
        x = x[None]
    if fit is not None and x.ndim == 4:
        x = fit_image(x, shape, fit, by=by)
    if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != tuple(shape):
        raise ValueError(f"{by} an image of shape {tuple(shape)} or a batch of them, got {tuple(x.shape)}")
    return x


def observation_batch(y: ImageLike, op: Measurement, fit: str | None = None) -> torch.Tensor:
    """One observation (1, *out_shape) from a tensor, an image file or degrade's .observation.pt."""
    if isinstance(y, (str, Path)) and str(y).endswith(".pt"):
        y = read_observation_file(y)
    named = getattr(op, "family", None) or type(op).__name__
    if fit is not None and not getattr(op, "image_output", True):
        raise ValueError(f"--fit {fit} crops or resizes images; {named} observes no image (its y would change)")
    y = image_batch(y, tuple(op.out_shape), fit, by=f"the operator {named} observes")
    if y.shape[0] != 1:
        raise ValueError(f"restore takes one observation at a time, got a batch of {y.shape[0]}")
    if not bool(torch.isfinite(y).all()):  # named before any check of its scale
        raise ValueError(f"observation y contains {int((~torch.isfinite(y)).sum())} NaN or inf entries")
    return y


#: how far beyond the reachable norm an observation may lie before it is refused (the norm estimate is a
#: lower bound of ||A|| and prior draws leave [-1, 1] a little: a wide margin, for gross scale errors only)
SCALE_MARGIN = 3.0
#: a Gaussian sigma_y above this spans more than the images' whole range [-1, 1]: said in a warning
NOISE_ABOVE_RANGE = 2.0


def check_observation_scale(y: torch.Tensor, op: Measurement, sigma: float, iterations: int = 20) -> None:
    """Refuse a linear-Gaussian observation on the wrong scale (0..255 levels, x100): ||y|| can be at most
    about ||A||_2 sqrt(d) (images in [-1, 1]) plus the noise's sigma sqrt(m). Any such y would otherwise be
    restored without a word into saturated garbage. ||A||_2 by power iteration on A^T A from a fixed start.
    A sigma above the images' whole range (sigma on the 0..255 scale?) is said in a warning."""
    if sigma > NOISE_ABOVE_RANGE:
        warnings.warn(
            f"sigma_y = {sigma:g} exceeds the whole range of images in [-1, 1] (2): y then carries almost nothing and "
            "the samples are nearly prior draws; is sigma on the 0..255 scale (divide it by 127.5)?",
            RuntimeWarning,
            3,
        )
    bounds = op.output_bounds() if hasattr(op, "output_bounds") else None
    if bounds is not None:  # a bounded non-linear measurement (JPEG, clip, Fourier magnitudes)
        low, high = bounds
        margin = 8 * sigma + 0.02  # the noise's reach over any image size, plus the codec's rounding
        found_low, found_high = float(y.min()), float(y.max())
        if found_low < low - margin or found_high > high + margin:
            raise ValueError(
                f"the observation spans {found_low:.4g}..{found_high:.4g}, but {op.name} maps images in [-1, 1] "
                f"into {low:g}..{high:.4g} (plus noise of sigma {sigma:g}): is it on a 0..255 scale or scaled?"
            )
        return
    reachable = _reachable_norm(y, op, sigma, iterations)
    found = float(y.norm())
    if reachable is not None and found > SCALE_MARGIN * reachable:
        raise ValueError(
            f"the observation's norm {found:.4g} is {found / reachable:.0f}x what A x + noise can reach for images "
            f"in [-1, 1] (about {reachable:.4g} with sigma {sigma:g}): is it on a 0..255 scale or scaled? lavps "
            "observes y = A x + sigma n with x in [-1, 1]"
        )


def _reachable_norm(y: torch.Tensor, op: Measurement, sigma: float, iterations: int = 20) -> float | None:
    """About the largest ||A x + noise|| for images x in [-1, 1]: ||A||_2 sqrt(d) + sigma sqrt(m), ||A||_2 by
    power iteration on A^T A from a fixed start; None for a non-linear or per-sample operator (no bound)."""
    if not isinstance(op, LinearOperator) or getattr(op, "batch_size", None) is not None:
        return None  # other measurements have their own scales; per-sample operators serve batches only
    v = torch.randn(1, *op.in_shape, generator=torch.Generator().manual_seed(0), dtype=y.dtype).to(y.device)
    norm_a = 0.0
    for _ in range(iterations):
        v = v / v.norm().clamp_min(1e-30)
        w = op.adjoint(op.forward(v))
        norm_a = math.sqrt(max(float((v * w).sum()), 0.0))  # sqrt(v^T A^T A v) with ||v|| = 1
        v = w
    return norm_a * math.sqrt(math.prod(op.in_shape)) + sigma * math.sqrt(y.numel())


#: from this peak on, raw photon counts passed as y are looked for (a norm far beyond what y reaches)
RAW_COUNTS_FROM_PEAK = 10.0
#: above this peak float32 cannot hold y = 2 k / peak - 1 to a count's precision: only the sign is checked
COUNTS_CHECKED_UP_TO = 1e5


def check_poisson_counts(y: torch.Tensor, noise, op: Measurement | None = None) -> None:
    """A Poisson observation is y = 2 k / peak - 1 for photon counts k = 0, 1, 2, ...: never below -1, and k a
    whole number. A Gaussian y, or one on another scale, would be restored under the wrong likelihood silently.
    With a linear `op`, raw counts passed as y (whole numbers too) are caught by their norm: y's std is at most
    2 / sqrt(peak), so ||y|| stays near what A x reaches for x in [-1, 1], while counts reach about peak."""
    # below RAW_COUNTS_FROM_PEAK one photon alone outweighs the bound (y = 2 / peak - 1), and counts and y
    # share a scale anyway: no check there
    checked = op is not None and noise.peak >= RAW_COUNTS_FROM_PEAK
    reachable = _reachable_norm(y, op, 2 / math.sqrt(noise.peak)) if checked else None
    if reachable is not None and float(y.norm()) > SCALE_MARGIN * reachable:
        raise ValueError(
            f"the observation's norm {float(y.norm()):.4g} is {float(y.norm()) / reachable:.0f}x what a Poisson "
            f"observation y = 2 k / peak - 1 reaches at {noise.spec} (about {reachable:.4g}): raw photon counts k? "
            "pass y = 2 k / peak - 1 (lavps degrade's .observation.pt holds it)"
        )
    k = noise.counts(y.double())
    if float(k.min()) < -1e-3:
        raise ValueError(
            f"a Poisson observation is y = 2 k / peak - 1 >= -1 (k photon counts), got y down to {float(y.min()):.4g}: "
            "is it a Gaussian observation (then --sigma) or on another scale?"
        )
    if float(k.max()) < 0.5:  # not an error (a dark scene), but the posterior is then the prior: say so
        warnings.warn(f"the observation holds no photon (every count 0 at {noise.spec}): the samples are prior draws",
                      RuntimeWarning, 3)  # fmt: skip
    off = float((k - k.round()).abs().max())
    if noise.peak <= COUNTS_CHECKED_UP_TO and off > 1e-2:
        raise ValueError(
            f"a Poisson observation is y = 2 k / peak - 1 with whole photon counts k; with {noise.spec} this y "
            f"gives counts up to {off:.2f} from a whole number: is the peak right, is it a Gaussian observation, or an "
            "8-bit PNG preview (restore degrade's .observation.pt)?"
        )
