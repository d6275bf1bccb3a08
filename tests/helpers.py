"""Small builders shared by several test files (imported as `helpers`: pytest puts tests/ on sys.path)."""

import torch

from lavps.operators import LinearOperator
from lavps.priors.image_unet import ImagePrior, build_unet


def tiny_unet_config(channels: int = 1, size: int = 8) -> dict:
    """A UNet2DModel config of two 8-channel levels, no attention: a prior that runs in milliseconds."""
    return {
        "sample_size": size,
        "in_channels": channels,
        "out_channels": channels,
        "block_out_channels": [8, 8],
        "layers_per_block": 1,
        "down_block_types": ["DownBlock2D", "DownBlock2D"],
        "up_block_types": ["UpBlock2D", "UpBlock2D"],
        "norm_num_groups": 4,
        "add_attention": False,
    }


def tiny_image_prior(channels: int = 1, size: int = 8) -> ImagePrior:
    """A throw-away ImagePrior with weights drawn after torch.manual_seed(0), frozen, in eval mode."""
    torch.manual_seed(0)  # weights of a throw-away test network only
    return ImagePrior(build_unet(tiny_unet_config(channels, size))).eval().requires_grad_(False)


class Cumsum(LinearOperator):
    """x -> cumulative sum on 4-vectors: a valid operator with neither a cheap SVD nor a closed-form Gram diagonal."""

    name = "cumsum"
    in_shape = out_shape = (4,)

    def forward(self, x):
        return x.cumsum(1)

    def adjoint(self, y):
        return y.flip(1).cumsum(1).flip(1)
