"""Super-resolution operator: average pooling by an integer factor."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import LinearOperator
from .svd import BlockMeanSVD

__all__ = ["AveragePool"]


class AveragePool(LinearOperator):
    """A x = mean over non-overlapping f x f blocks: (B, C, H, W) -> (B, C, H/f, W/f).

    The rows of A are disjoint blocks of weight 1/f^2, so A A^T = I / f^2 exactly. Hence
    A^T y = nearest upsampling of y divided by f^2, and the Moore-Penrose inverse
    A^+ = A^T (A A^T)^{-1} = f^2 A^T is nearest upsampling; A A^+ = I and A A^+ A = A hold exactly.
    The operator has no per-sample parameters (shared by any batch).
    """

    saved_kind = "sr"

    def saved_state(self) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
        return {"factor": str(self.factor)}, {}

    @classmethod
    def from_saved(cls, shape, meta, tensors) -> AveragePool:
        return cls(shape, int(meta["factor"]))

    def __init__(self, image_shape: tuple[int, int, int], factor: int):
        image_shape = tuple(int(s) for s in image_shape)
        if len(image_shape) != 3:
            raise ValueError(f"image_shape must be (C, H, W), got {image_shape}")
        if not (isinstance(factor, int) and factor >= 1):
            raise ValueError(f"super-resolution factor must be an integer >= 1, got {factor!r}")
        c, h, w = image_shape
        if h % factor or w % factor:
            raise ValueError(f"super-resolution factor {factor} must divide the image height and width, got {h}x{w}")
        self.factor = factor
        self.name = f"sr_x{factor}"
        self.in_shape = image_shape
        self.out_shape = (c, h // factor, w // factor)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return F.avg_pool2d(x, self.factor)

    def _upsample(self, y: torch.Tensor) -> torch.Tensor:
        return y.repeat_interleave(self.factor, dim=-2).repeat_interleave(self.factor, dim=-1)

    def adjoint(self, y: torch.Tensor) -> torch.Tensor:
        """A^T y = nearest upsampling / f^2."""
        self.check_observation(y)
        return self._upsample(y) / self.factor**2

    def pinv(self, y: torch.Tensor) -> torch.Tensor:
        """A^+ y = nearest upsampling (exact Moore-Penrose inverse)."""
        self.check_observation(y)
        return self._upsample(y)

    def gram_diagonal(self) -> torch.Tensor:
        """Every pixel is in one block of weight 1/f^2: diag(A^T A) = 1/f^4."""
        return torch.full((1, *self.in_shape), 1.0 / self.factor**4, dtype=torch.float64)

    def svd(self) -> BlockMeanSVD:
        """One singular value 1/f per block, right singular vector = the block's constant / f."""
        return BlockMeanSVD(self.in_shape, self.factor)
