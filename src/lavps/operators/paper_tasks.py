"""The LAVPS paper's task catalogue as operator specs: `paper:NAME` (docs/paper_tasks.md).

As in the paper's code, a task without the `_sto` suffix uses ONE operator for every image (drawn from
seed 0), and its `_sto` twin draws a new random operator for every sample. Names follow the paper's
configuration files; each maps onto an ordinary lavps spec:

    mb_21_0.9[_sto]        motion_blur:21:0.9     motion blur, in-distribution
    mb_35_0.3[_sto]        motion_blur:35:0.3     motion blur, out-of-distribution
    box_0.4_0.6[_sto]      box:0.4:0.6            one missing box, sides 40-60 % of the image
    pixel_0.08_0.1[_sto]   pixels_range:0.08:0.1  8-10 % of the pixel locations observed
    pixel_0.15_0.2[_sto]   pixels_range:0.15:0.2  15-20 % observed
    center_2               center:0.5             the centred box of half the side missing
    sr_4                   sr:4                   x4 super-resolution (4x4 average pooling)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from .base import LinearOperator
from .spec import NAMED_KINDS, ImageOperatorFamily

__all__ = ["PAPER_TASKS", "PaperTaskFamily", "paper_task"]

_RANDOM = {
    "mb_21_0.9": "motion_blur:21:0.9",
    "mb_35_0.3": "motion_blur:35:0.3",
    "box_0.4_0.6": "box:0.4:0.6",
    "pixel_0.08_0.1": "pixels_range:0.08:0.1",
    "pixel_0.15_0.2": "pixels_range:0.15:0.2",
}
#: paper task name -> lavps spec of its operators
PAPER_TASKS: dict[str, str] = {
    **_RANDOM,
    **{f"{name}_sto": spec for name, spec in _RANDOM.items()},
    "center_2": "center:0.5",
    "sr_4": "sr:4",
}
_FIXED_SEED = 0  # the paper's code draws a non-stochastic task's operator with seed 0


@dataclass(frozen=True)
class PaperTaskFamily(ImageOperatorFamily):
    """A named paper task: its lavps family, either drawn anew per sample (`_sto`) or fixed (seed 0)."""

    task: str = "sr_4"
    kind: ClassVar[str] = ""  # reached through `paper:NAME`, not the generic kind:ARG parser

    @property
    def inner(self) -> ImageOperatorFamily:
        from .spec import parse_operator_spec

        return parse_operator_spec(PAPER_TASKS[self.task], self.image_shape)

    @property
    def random(self) -> bool:  # type: ignore[override]
        return self.task.endswith("_sto")

    @property
    def spec(self) -> str:
        return f"paper:{self.task}"

    def _draw(self, batch_size: int | None, generator: torch.Generator) -> LinearOperator:
        if self.task not in PAPER_TASKS:
            raise ValueError(f"unknown paper task {self.task!r}; allowed: {', '.join(PAPER_TASKS)}")
        if self.random:
            return self.inner._draw(batch_size, generator)
        return self.inner._draw(None, torch.Generator().manual_seed(_FIXED_SEED))  # shared by every sample


def paper_task(args: list[str], image_shape: tuple[int, int, int]) -> PaperTaskFamily:
    """`paper:NAME` -> its family; a ValueError listing the names otherwise."""
    if len(args) != 1 or args[0].lower() not in PAPER_TASKS:
        raise ValueError(f"paper task must be one of {', '.join(PAPER_TASKS)}, got {':'.join(args)!r}")
    return PaperTaskFamily(tuple(image_shape), args[0].lower())


NAMED_KINDS["paper"] = paper_task
