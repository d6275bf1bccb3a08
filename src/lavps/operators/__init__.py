"""Measurements (linear operators and non-linear maps), noise models and random operator families."""

from . import paper_tasks as _paper_tasks  # noqa: E402,F401  (registers the paper:NAME specs)
from .base import LinearOperator, OperatorShapeError
from .basic import DenseMatrix, Identity, Mask
from .blur import CircularBlur, gaussian_kernel, motion_kernel
from .external import AdjointMismatchError, ExternalOperator, as_operator, check_adjoint
from .families import CoordinateMaskFamily, DenseFamily, OperatorFamily
from .files import load_operator, save_operator
from .image_masks import box_mask, center_mask, mask_from_spatial, pixel_mask, rect_mask
from .measurement import Linearization, Measurement
from .noise import GaussianNoise, InverseProblem, LocalQuadratic, NoiseModel, PoissonNoise, parse_noise_spec
from .nonlinear import ExternalMeasurement, HighDynamicRange, JpegCompression, PhaseRetrieval, as_measurement
from .nonlinear_families import HighDynamicRangeFamily, JpegFamily, PhaseRetrievalFamily
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
    RectMaskFamily,
    SuperResolutionFamily,
    parse_operator_spec,
    spec_kinds,
)
from .svd import SVD, NoCheapSVDError
from .user_files import kernel_operator_from_file, mask_operator_from_file

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
    "PoissonNoise",
    "NoiseModel",
    "parse_noise_spec",
    "InverseProblem",
    "LocalQuadratic",
    "Measurement",
    "Linearization",
    "JpegCompression",
    "PhaseRetrieval",
    "HighDynamicRange",
    "ExternalMeasurement",
    "as_measurement",
    "JpegFamily",
    "PhaseRetrievalFamily",
    "HighDynamicRangeFamily",
    "CircularBlur",
    "gaussian_kernel",
    "motion_kernel",
    "AveragePool",
    "box_mask",
    "pixel_mask",
    "center_mask",
    "rect_mask",
    "mask_from_spatial",
    "ImageOperatorFamily",
    "MotionBlurFamily",
    "GaussianBlurFamily",
    "SuperResolutionFamily",
    "BoxMaskFamily",
    "PixelMaskFamily",
    "CenterMaskFamily",
    "RectMaskFamily",
    "DenoiseFamily",
    "spec_kinds",
    "parse_operator_spec",
    "kernel_operator_from_file",
    "mask_operator_from_file",
    "save_operator",
    "load_operator",
]
