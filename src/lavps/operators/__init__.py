"""Linear operators, the Gaussian noise model and random operator families."""

from .base import LinearOperator, OperatorShapeError
from .basic import DenseMatrix, Identity, Mask
from .blur import CircularBlur, gaussian_kernel, motion_kernel
from .external import AdjointMismatchError, ExternalOperator, as_operator, check_adjoint
from .families import CoordinateMaskFamily, DenseFamily, OperatorFamily
from .image_masks import box_mask, center_mask, mask_from_spatial, pixel_mask
from .noise import GaussianNoise, InverseProblem
from .resize import AveragePool
from .solve import regularized_least_squares
from .spec import (
    BoxMaskFamily,
    CenterMaskFamily,
    DenoiseFamily,
    GaussianBlurFamily,
    ImageOperatorFamily,
    MotionBlurFamily,
    PixelMaskFamily,
    SuperResolutionFamily,
    kernel_operator_from_file,
    load_operator,
    mask_operator_from_file,
    parse_operator_spec,
    save_operator,
    spec_kinds,
)
from .svd import SVD, NoCheapSVDError

__all__ = [
    "LinearOperator",
    "OperatorShapeError",
    "SVD",
    "NoCheapSVDError",
    "regularized_least_squares",
    "Identity",
    "DenseMatrix",
    "Mask",
    "OperatorFamily",
    "ExternalOperator",
    "AdjointMismatchError",
    "as_operator",
    "check_adjoint",
    "DenseFamily",
    "CoordinateMaskFamily",
    "GaussianNoise",
    "InverseProblem",
    "CircularBlur",
    "gaussian_kernel",
    "motion_kernel",
    "AveragePool",
    "box_mask",
    "pixel_mask",
    "center_mask",
    "mask_from_spatial",
    "ImageOperatorFamily",
    "MotionBlurFamily",
    "GaussianBlurFamily",
    "SuperResolutionFamily",
    "BoxMaskFamily",
    "PixelMaskFamily",
    "CenterMaskFamily",
    "DenoiseFamily",
    "spec_kinds",
    "parse_operator_spec",
    "kernel_operator_from_file",
    "mask_operator_from_file",
    "save_operator",
    "load_operator",
]
