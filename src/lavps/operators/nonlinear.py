"""Built-in non-linear measurements (JPEG, phase retrieval, high dynamic range) and user callables.

Definitions and references: docs/measurements.md. Images live in [-1, 1] (C, H, W); per-sample
parameters (JPEG quality, HDR scale) are (B,) tensors, shared parameters are scalars.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from .base import LinearOperator
from .jpeg import jpeg_approx, jpeg_codec
from .measurement import Measurement, OperatorShapeError

__all__ = ["JpegCompression", "PhaseRetrieval", "HighDynamicRange", "ExternalMeasurement", "as_measurement"]


def _per_sample(value, what: str, valid: Callable[[torch.Tensor], torch.Tensor], rule: str) -> torch.Tensor:
    """A float64 scalar or (B,) tensor of parameters, each checked by `valid` (else a ValueError naming `rule`)."""
    t = torch.as_tensor(value, dtype=torch.float64).cpu()  # kept on the CPU; moved per call (`_param`)
    if t.ndim > 1 or not bool(torch.isfinite(t).all()) or not bool(valid(t).all()):
        raise ValueError(f"{what} must be {rule} (a number or one per sample), got {value!r}")
    return t


def _image_shape(shape) -> tuple[int, int, int]:
    shape = tuple(int(s) for s in shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"image_shape must be (C, H, W) with positive sizes, got {shape}")
    return shape  # type: ignore[return-value]


class _ImageMeasurement(Measurement):
    """A map whose per-sample parameter tensor sets `batch_size` (None for a scalar)."""

    def _set_batch(self, param: torch.Tensor) -> None:
        self.batch_size = None if param.ndim == 0 else int(param.shape[0])

    def _param(self, param: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The parameter as (B, 1, 1, 1) in x's dtype (broadcast against images)."""
        return param.to(dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)


class JpegCompression(_ImageMeasurement):
    """y = JPEG_Q(x): decode(encode(x, quality Q)). `forward` is the differentiable approximation
    (`lavps.operators.jpeg.jpeg_approx`), `exact_forward` the real codec (Pillow)."""

    def __init__(self, image_shape, quality):
        self.in_shape = self.out_shape = _image_shape(image_shape)
        if self.in_shape[0] not in (1, 3):
            raise ValueError(f"JPEG needs images with 1 or 3 channels, got image_shape {self.in_shape}")
        self.quality = _per_sample(quality, "JPEG quality", lambda q: (q >= 1) & (q <= 100) & (q == q.round()),
                                   "an integer in 1..100")  # fmt: skip
        self._set_batch(self.quality)
        self.name = f"jpeg:{self.quality.reshape(-1)[0]:g}" if self.batch_size is None else "jpeg"

    def _qualities(self, x):
        return self.quality.reshape(-1).expand(x.shape[0])

    def forward(self, x):
        self.check_input(x)
        return jpeg_approx(x, self._qualities(x))

    def exact_forward(self, x):
        self.check_input(x)
        return jpeg_codec(x, self._qualities(x))

    def output_bounds(self) -> tuple[float, float]:
        return (-1.0, 1.0)  # a decoded 8-bit image


class PhaseRetrieval(_ImageMeasurement):
    """y = |F pad(u)|, u = (x + 1) / 2: the magnitude of the orthonormal 2-D DFT of the [0, 1] image zero-
    padded (bottom / right) to round(s H) x round(s W), s = oversampling >= 1 (DPS and DAPS: s = 2).

    |F u| is blind to a circular shift of the padded canvas and to the point reflection u(-n) (the
    complex conjugate), so the posterior has those modes (docs/measurements.md classifies samples).
    """

    image_output = False  # a spectrum's magnitudes: never cropped or resized to fit

    def __init__(self, image_shape, oversampling: float = 2.0):
        self.in_shape = _image_shape(image_shape)
        s = float(oversampling)
        if not (s >= 1.0 and s == s and s < 64):
            raise ValueError(f"phase retrieval oversampling must be a number in [1, 64), got {oversampling!r}")
        self.oversampling = s
        c, h, w = self.in_shape
        self.out_shape = (c, round(s * h), round(s * w))
        self.name = f"phase:{s:g}"

    def forward(self, x):
        self.check_input(x)
        _, hp, wp = self.out_shape
        u = F.pad((x + 1.0) / 2.0, (0, wp - x.shape[-1], 0, hp - x.shape[-2]))
        spectrum = torch.fft.fft2(u, norm="ortho")
        # |z| with a floor inside the square root: |.| has no gradient at 0 (DC-free blocks of a flat image)
        return (spectrum.real.square() + spectrum.imag.square() + 1e-12).sqrt()

    def output_bounds(self) -> tuple[float, float]:
        """|F u|_k <= sum(u) / sqrt(padded size) <= H W / sqrt(Hp Wp) for u in [0, 1]; magnitudes are >= 0."""
        _, h, w = self.in_shape
        return (0.0, h * w / math.sqrt(self.out_shape[1] * self.out_shape[2]))


class HighDynamicRange(_ImageMeasurement):
    """y = clip(s x, -1, 1): a sensor that saturates, scale s > 0 per sample or shared (DAPS: s = 2)."""

    #: `consistent_point` pins a pixel to y / s when y is inside the clip by this many sigma: 5, not 3, so that
    #: the background's noise outliers (y = -1 + 3.2 sigma: 1.3 per 1024 saturated pixels at 3 sigma) stay
    #: saturated (at 3 sigma they became grey specks: SSIM 0.946 vs 0.970 at 5 on 8 tuning digits of hdr:2)
    pin_sigmas: float = 5.0

    def __init__(self, image_shape, scale):
        self.in_shape = self.out_shape = _image_shape(image_shape)
        # beyond these the scale rounds to 0 (nothing observed) or to inf in float32
        self.scale = _per_sample(scale, "HDR scale", lambda s: (s >= 1e-3) & (s <= 1e3), "a number in [0.001, 1000]")
        self._set_batch(self.scale)
        self.name = f"hdr:{self.scale.reshape(-1)[0]:g}" if self.batch_size is None else "hdr"

    def forward(self, x):
        self.check_input(x)
        return (self._param(self.scale, x) * x).clamp(-1.0, 1.0)

    def output_bounds(self) -> tuple[float, float]:
        return (-1.0, 1.0)  # the clip

    def consistent_point(self, x, y, sigma):
        """Only where |A(x) - y| > 3 sigma (a disagreement the noise does not explain): y / s if y is inside
        the clip by `pin_sigmas` sigma (the observation pins the pixel to +-sigma / s), -x (the mirror image,
        saturated on y's side) if s x is saturated on the side opposite to y's; x everywhere else. The clip's
        Jacobian is zero on a pixel saturated on the wrong side, so neither the Gauss-Newton model at x nor the
        likelihood's gradient can pull it back (results/nonlinear_hdr_diag)."""
        s = self._param(self.scale, x)
        off = (self.forward(x) - y).abs() > 3.0 * sigma
        inside = y.abs() < 1.0 - self.pin_sigmas * sigma
        wrong_side = s * x * torch.sign(y) <= -1.0
        return torch.where(off & inside, y / s, torch.where(off & wrong_side, -x, x))


class ExternalMeasurement(Measurement):
    """A user's differentiable callable fn: (B, *in_shape) -> (B, *out_shape) as a lavps measurement.

    Checked once on construction (a fixed-seed random batch of 2): the output is a finite tensor of a
    consistent shape, and a nonzero gradient flows back to the input there or, where fn is flat on that batch, on
    the batch scaled nearer 0 (`_gradient_moves`; else guidance would be blind).
    """

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor], in_shape, name: str = "external",
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu"):  # fmt: skip
        if not callable(fn):
            raise TypeError(f"as_measurement needs a callable fn(x), got {type(fn).__name__}")
        self.in_shape = tuple(int(s) for s in in_shape)
        if not self.in_shape or min(self.in_shape) < 1:
            raise ValueError(f"in_shape must be a non-empty tuple of positive sizes, got {in_shape!r}")
        self._fn, self.name = fn, str(name)
        g = torch.Generator().manual_seed(20260207)
        probe = torch.randn(2, *self.in_shape, generator=g).to(dtype=dtype, device=device).requires_grad_(True)
        with torch.enable_grad():
            out = fn(probe)
            if not isinstance(out, torch.Tensor) or out.ndim < 1 or out.shape[0] != 2:
                raise OperatorShapeError(f"{self.name}: fn must map (B, *in_shape) to a (B, ...) tensor")
            if not bool(torch.isfinite(out).all()):
                raise ValueError(f"{self.name}: fn returned NaN or inf on a random input")
            if not out.requires_grad:
                raise ValueError(f"{self.name}: fn's output does not depend differentiably on its input (no gradient)")
            if not _gradient_moves(fn, probe, out, g):  # round, sign, argmax: a graph, but a blind one
                raise ValueError(
                    f"{self.name}: fn's gradient is zero on a random input (rounding, sign, argmax?): guidance would "
                    "be blind; make fn differentiable (e.g. a straight-through or smooth approximation)"
                )
        self.out_shape = tuple(int(s) for s in out.shape[1:])

    def forward(self, x):
        self.check_input(x)
        out = self._fn(x)
        if not isinstance(out, torch.Tensor) or tuple(out.shape) != (x.shape[0], *self.out_shape):
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise OperatorShapeError(f"{self.name}: fn returned {got}, expected {(x.shape[0], *self.out_shape)}")
        return out


#: the scales of the zero-gradient probe: N(0, 1), then the same draw nearer 0, inside the images' range [-1, 1]
GRADIENT_PROBE_SCALES = (1.0, 0.3, 0.1, 0.01)


def _gradient_moves(fn, probe: torch.Tensor, out: torch.Tensor, generator: torch.Generator) -> bool:
    """Whether a random cotangent pulls back to a nonzero gradient at `probe` (N(0, 1); `out` is fn(probe)) or,
    failing that, at the same draw scaled nearer 0 (`GRADIENT_PROBE_SCALES`): a saturating map (clip(x, -0.5, 0.5)
    on a few entries) can be flat wherever the first probe lands; rounding, sign and argmax are flat at every scale."""
    for scale in GRADIENT_PROBE_SCALES:
        x = probe if scale == 1.0 else (probe.detach() * scale).requires_grad_(True)
        y = out if scale == 1.0 else fn(x)
        if not (isinstance(y, torch.Tensor) and y.requires_grad):
            continue
        cotangent = torch.randn(y.shape, generator=generator).to(device=y.device, dtype=y.dtype)
        (grad,) = torch.autograd.grad(y, x, cotangent, allow_unused=True)
        if grad is not None and bool((grad != 0).any()):
            return True
    return False


def as_measurement(obj, in_shape: tuple[int, ...], **kwargs) -> Measurement:
    """A lavps measurement from a Measurement or LinearOperator (returned as is) or a differentiable
    callable fn(x) (kwargs: name, dtype, device go to `ExternalMeasurement`)."""
    if isinstance(obj, (Measurement, LinearOperator)):
        return obj
    if callable(obj):
        return ExternalMeasurement(obj, in_shape, **kwargs)
    raise TypeError(f"cannot make a measurement from {type(obj).__name__}: give a Measurement or a callable fn(x)")
