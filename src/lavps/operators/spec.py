"""String specs -> image operator families (operators from user kernel and mask files: `user_files`).

A spec is `kind[:arg[:arg]]`, e.g. `motion_blur:9:0.5`, `sr:4`, `box:0.3:0.5`, `denoise`.
`parse_operator_spec(spec, image_shape)` returns an `OperatorFamily`; `family.sample(B, generator)`
draws B per-sample operators and `family.sample_one(generator)` one operator shared by a batch.
Saved operators are `lavps.operators.files`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import ClassVar

import torch

from .base import LinearOperator
from .basic import Identity, Mask
from .blur import CircularBlur, gaussian_kernel, motion_kernel
from .families import OperatorFamily
from .image_masks import box_mask, box_side_range, center_mask, pixel_mask, rect_mask
from .resize import AveragePool

__all__ = [
    "ImageOperatorFamily",
    "MotionBlurFamily",
    "GaussianBlurFamily",
    "SuperResolutionFamily",
    "BoxMaskFamily",
    "PixelMaskFamily",
    "PixelRangeMaskFamily",
    "CenterMaskFamily",
    "RectMaskFamily",
    "DenoiseFamily",
    "spec_kinds",
    "parse_operator_spec",
    "draw_operator",
]


@dataclass(frozen=True)
class ImageOperatorFamily(OperatorFamily):
    """Operators on images (C, H, W) of one `kind`; the fields after image_shape are the spec arguments.

    Subclasses implement `_draw(batch_size, generator)` (batch_size None = one shared operator).
    Deterministic kinds repeat their parameter per sample (blur, mask) or return a shared operator
    (sr, denoise: no parameters). Construction validates by drawing once from a throw-away generator.
    """

    image_shape: tuple[int, int, int]
    kind: ClassVar[str] = ""
    #: "kind:ARG:... (what the arguments mean)", quoted in error messages
    usage: ClassVar[str] = ""
    #: True when drawing uses the generator (the operator then depends on a seed)
    random: ClassVar[bool] = True
    #: False for the non-linear kinds (jpeg, phase, hdr): LAVPS's `auto` preset reads it (samplers/presets.py)
    linear: ClassVar[bool] = True
    #: True where the likelihood alone has several exact modes (phase retrieval: shifted and flipped copies of
    #: x give the same y): LAVPS's `auto` then runs its `multimodal` preset, which mixes between them
    multimodal: ClassVar[bool] = False

    def __post_init__(self):
        shape = tuple(int(s) for s in self.image_shape)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"image_shape must be (C, H, W) with positive sizes, got {tuple(self.image_shape)}")
        object.__setattr__(self, "image_shape", shape)
        self._draw(None, torch.Generator().manual_seed(0))

    @property
    def spec(self) -> str:
        """Canonical spec string, e.g. 'motion_blur:9:0.5'."""
        args = [f"{getattr(self, f.name):g}" for f in fields(self) if f.name != "image_shape"]
        return ":".join([self.kind, *args])

    @property
    def name(self) -> str:
        return self.spec

    def sample(self, batch_size: int, generator: torch.Generator) -> LinearOperator:
        return self._draw(int(batch_size), generator)

    def sample_one(self, generator: torch.Generator) -> LinearOperator:
        return self._draw(None, generator)

    def _draw(self, batch_size: int | None, generator: torch.Generator) -> LinearOperator:
        raise NotImplementedError

    def covers(self, other: ImageOperatorFamily) -> bool:
        """Whether this family can draw every operator `other` draws, so that an amortizer trained on this
        family has seen them all (`lavps.amortize.network.trained_family_for`). Here: the same spec on the
        same image shape; a family whose draws include other kinds' says so by overriding this."""
        return other.spec == self.spec and other.image_shape == self.image_shape

    def _check_kernel_size(self, size: int, minimum: int) -> None:
        if not (isinstance(size, int) and size >= minimum and size % 2 == 1):
            raise ValueError(f"kernel SIZE must be an odd integer >= {minimum}, got {size!r}")
        if size > min(self.image_shape[1:]):
            raise ValueError(f"kernel SIZE {size} is larger than the image {self.image_shape[1]}x{self.image_shape[2]}")


@dataclass(frozen=True)
class MotionBlurFamily(ImageOperatorFamily):
    """Random camera-shake blurs (`motion_kernel`), one kernel per sample, circular boundary."""

    size: int = 9
    intensity: float = 0.5
    kind: ClassVar[str] = "motion_blur"
    usage: ClassVar[str] = "motion_blur:SIZE:INTENSITY (odd integer SIZE >= 3, INTENSITY in [0, 1])"

    def _draw(self, batch_size, generator):
        self._check_kernel_size(self.size, 3)
        return CircularBlur(motion_kernel(self.size, self.intensity, generator, batch_size), self.image_shape)


@dataclass(frozen=True)
class GaussianBlurFamily(ImageOperatorFamily):
    """A fixed Gaussian blur (`gaussian_kernel`), circular boundary."""

    size: int = 9
    std: float = 2.0
    kind: ClassVar[str] = "gaussian_blur"
    usage: ClassVar[str] = "gaussian_blur:SIZE:STD (odd integer SIZE >= 1, STD > 0)"
    random: ClassVar[bool] = False

    def _draw(self, batch_size, generator):
        self._check_kernel_size(self.size, 1)
        k = gaussian_kernel(self.size, self.std)
        return CircularBlur(k if batch_size is None else k.expand(batch_size, -1, -1), self.image_shape)


@dataclass(frozen=True)
class SuperResolutionFamily(ImageOperatorFamily):
    """Average pooling by FACTOR >= 2 (`AveragePool`, always shared)."""

    factor: int = 2
    kind: ClassVar[str] = "sr"
    usage: ClassVar[str] = "sr:FACTOR (integer FACTOR >= 2 dividing the image height and width)"
    random: ClassVar[bool] = False

    def _draw(self, batch_size, generator):
        if not (isinstance(self.factor, int) and self.factor >= 2):
            raise ValueError(f"FACTOR must be an integer >= 2, got {self.factor!r}")
        return AveragePool(self.image_shape, self.factor)


@dataclass(frozen=True)
class BoxMaskFamily(ImageOperatorFamily):
    """Inpainting of one random box per sample (`box_mask`)."""

    lo: float = 0.3
    hi: float = 0.5
    kind: ClassVar[str] = "box"
    usage: ClassVar[str] = "box:LO:HI (hide one random box, side fractions in [LO, HI], 0 < LO <= HI < 1)"

    def _draw(self, batch_size, generator):
        return box_mask(self.image_shape, self.lo, self.hi, generator, batch_size)

    def covers(self, other: ImageOperatorFamily) -> bool:
        """Also a box family of sides within these, a centred box of a side this family draws and a given box
        (`rect`) of such sides: box_mask hides one box, the same in every channel, and places it anywhere it
        fits (center:0.35 on 32 x 32 is an 11-pixel box, a draw of box:0.3:0.5, whose sides are 10 to 16)."""
        sizes = self.image_shape[1:]
        if isinstance(other, RectMaskFamily):
            sides = [(other.height, other.height), (other.width, other.width)]  # in pixels; any place fits
        elif isinstance(other, (CenterMaskFamily, BoxMaskFamily)):
            fractions = (other.fraction,) * 2 if isinstance(other, CenterMaskFamily) else (other.lo, other.hi)
            sides = [box_side_range(size, *fractions) for size in sizes]
        else:
            return super().covers(other)
        drawn = [box_side_range(size, self.lo, self.hi) for size in sizes]
        fits = all(low <= a <= b <= high for (low, high), (a, b) in zip(drawn, sides, strict=True))
        return other.image_shape == self.image_shape and fits


@dataclass(frozen=True)
class PixelMaskFamily(ImageOperatorFamily):
    """A random FRACTION of the pixel locations is observed (`pixel_mask`)."""

    fraction: float = 0.1
    kind: ClassVar[str] = "pixels"
    usage: ClassVar[str] = "pixels:FRACTION (fraction of pixels observed, in (0, 1])"

    def _draw(self, batch_size, generator):
        return pixel_mask(self.image_shape, self.fraction, generator, batch_size)


@dataclass(frozen=True)
class PixelRangeMaskFamily(ImageOperatorFamily):
    """Like `pixels`, with the observed fraction drawn uniformly in [LO, HI] for every sample."""

    lo: float = 0.08
    hi: float = 0.1
    kind: ClassVar[str] = "pixels_range"
    usage: ClassVar[str] = "pixels_range:LO:HI (observed pixel fraction drawn in [LO, HI], 0 < LO <= HI <= 1)"

    def _draw(self, batch_size, generator):
        if not 0 < self.lo <= self.hi <= 1:
            raise ValueError(f"need 0 < LO <= HI <= 1, got LO={self.lo}, HI={self.hi}")
        n = 1 if batch_size is None else batch_size
        fractions = self.lo + (self.hi - self.lo) * torch.rand(n, generator=generator, dtype=torch.float64)
        masks = [pixel_mask(self.image_shape, float(f), generator).mask for f in fractions]
        return Mask(masks[0] if batch_size is None else torch.stack(masks), self.image_shape)

    def covers(self, other: ImageOperatorFamily) -> bool:
        """Also `pixels:F` with F in [LO, HI] and a `pixels_range` within this one."""
        if isinstance(other, PixelMaskFamily):
            low, high = other.fraction, other.fraction
        elif isinstance(other, PixelRangeMaskFamily):
            low, high = other.lo, other.hi
        else:
            return super().covers(other)
        return other.image_shape == self.image_shape and self.lo <= low <= high <= self.hi


@dataclass(frozen=True)
class CenterMaskFamily(ImageOperatorFamily):
    """Inpainting of the centred box of side FRACTION (`center_mask`)."""

    fraction: float = 0.5
    kind: ClassVar[str] = "center"
    usage: ClassVar[str] = "center:FRACTION (hide the centred box of side FRACTION, in (0, 1))"
    random: ClassVar[bool] = False

    def _draw(self, batch_size, generator):
        return center_mask(self.image_shape, self.fraction, batch_size)


@dataclass(frozen=True)
class RectMaskFamily(ImageOperatorFamily):
    """Inpainting of one given box (`rect_mask`): a mask file that hides exactly such a box is this spec
    (`lavps.operators.user_files.mask_operator_from_file`), so `auto` knows a box family that draws it."""

    top: int = 0
    left: int = 0
    height: int = 1
    width: int = 1
    kind: ClassVar[str] = "rect"
    usage: ClassVar[str] = "rect:TOP:LEFT:HEIGHT:WIDTH (hide the HEIGHT x WIDTH pixel box at row TOP, column LEFT)"
    random: ClassVar[bool] = False

    def _draw(self, batch_size, generator):
        return rect_mask(self.image_shape, self.top, self.left, self.height, self.width, batch_size)


@dataclass(frozen=True)
class DenoiseFamily(ImageOperatorFamily):
    """A = I (denoising, always shared)."""

    kind: ClassVar[str] = "denoise"
    usage: ClassVar[str] = "denoise (no arguments)"
    random: ClassVar[bool] = False

    def _draw(self, batch_size, generator):
        return Identity(self.image_shape)


def _family_classes() -> list[type[ImageOperatorFamily]]:
    """Every ImageOperatorFamily subclass with a kind: a subclass defined anywhere is a spec kind."""
    found, todo = [], list(ImageOperatorFamily.__subclasses__())
    while todo:
        cls = todo.pop(0)
        found += [cls] if cls.kind else []
        todo.extend(cls.__subclasses__())
    return found


def spec_kinds() -> dict[str, str]:
    """Spec kind -> usage line, for help texts and error messages."""
    kinds = {cls.kind: cls.usage for cls in _family_classes()}
    return kinds | {"paper": "paper:NAME (the LAVPS paper's tasks, e.g. mb_21_0.9, mb_21_0.9_sto; docs/paper_tasks.md)"}


#: kinds whose arguments are names, not numbers: kind -> (args, image_shape) -> family. Filled by the modules
#: that define them (`lavps.operators.paper_tasks`), so this module never imports them.
NAMED_KINDS: dict[str, Callable[[list[str], tuple[int, int, int]], ImageOperatorFamily]] = {}

_ARG_TYPES = {"int": int, "float": float, int: int, float: float}  # field annotations, as strings or types


class _SpecError(ValueError):
    """An invalid spec; `problem` is the reason alone (a named kind's inner spec error is not listed twice)."""

    def __init__(self, spec: str, problem: str):
        allowed = "\n  ".join(spec_kinds().values())
        super().__init__(f"invalid operator spec {spec!r}: {problem}. Allowed specs:\n  {allowed}")
        self.spec, self.problem = spec, problem


def _spec_error(spec: str, problem: str) -> ValueError:
    return _SpecError(spec, problem)


def _convert(text: str, kind: type) -> int | float:
    value = kind(text)  # int("9.5") raises ValueError
    if kind is float and not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def parse_operator_spec(spec: str, image_shape: tuple[int, int, int]) -> ImageOperatorFamily:
    """`kind:arg:...` -> an image operator family for images of shape (C, H, W). See SPEC_FORMATS."""
    if not isinstance(spec, str) or not spec.strip():
        raise _spec_error(str(spec), "empty spec")
    if len(spec.split()) > 1:  # e.g. one quoted shell argument "sr:4 box:0.3:0.5"
        raise _spec_error(
            spec, "one spec per argument: several specs go as separate arguments or comma-separated (sr:4,sr:2)"
        )
    kind, *args = [part.strip() for part in spec.strip().split(":")]
    if kind.lower() in NAMED_KINDS:  # e.g. paper:NAME (registered by lavps.operators.paper_tasks)
        try:
            return NAMED_KINDS[kind.lower()](args, image_shape)
        except _SpecError as err:  # the task's own spec is invalid here (e.g. a kernel larger than the image)
            raise _spec_error(spec, f"{err.spec}: {err.problem}") from None
        except ValueError as err:
            raise _spec_error(spec, str(err)) from None
    cls = {c.kind: c for c in _family_classes()}.get(kind.lower())
    if cls is None:
        raise _spec_error(spec, f"unknown kind {kind!r}")
    types = [_ARG_TYPES[f.type] for f in fields(cls) if f.name != "image_shape"]
    if len(args) != len(types):
        raise _spec_error(spec, f"{kind.lower()} takes {len(types)} argument(s), got {len(args)}")
    try:
        values = [_convert(a, t) for a, t in zip(args, types, strict=True)]
    except ValueError as err:
        raise _spec_error(spec, f"cannot read arguments {args} as {[t.__name__ for t in types]} ({err})") from None
    try:
        return cls(tuple(image_shape), *values)
    except ValueError as err:
        raise _spec_error(spec, str(err)) from None


def draw_operator(spec: str, image_shape: tuple[int, int, int], seed: int | None = None) -> LinearOperator:
    """One operator from a spec, shared by a batch; a random kind draws it from `seed`.

    Raises:
        ValueError: a random kind (motion_blur, box, pixels) without a seed: guessing one silently
            would restore with another operator than the one that made the observation.
    """
    family = parse_operator_spec(spec, image_shape)
    if family.random and seed is None:
        raise ValueError(
            f"operator {family.spec!r} is random and no seed was given: pass the seed that drew it "
            "(--op-seed in the CLI: the --seed given to degrade; seed= in Python) or the operator file degrade saved"
        )
    op = family.sample_one(torch.Generator().manual_seed(0 if seed is None else int(seed)))
    op.family = family.spec
    return op
