"""Mode classes of phase-retrieval samples: which of x*'s ambiguous copies a sample matches.

|F pad(u)| cannot tell u from its circular shifts on the padded canvas nor from its point reflection
(rotation by 180 degrees), so a faithful posterior sampler may return any of them. A sample is aligned
to x* over both orientations and every circular shift of the padded canvas (by FFT cross-correlation
of the [0, 1] intensities); the best alignment names its class (docs/measurements.md):
identity (no rotation, no shift), flipped (rotated, no shift), shifted (any shift, either orientation),
or other (the best alignment is below `floor_db`: the sample matches no copy of x*).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..metrics import psnr

__all__ = ["MODE_CLASSES", "phase_mode_classes"]

MODE_CLASSES = ("identity", "flipped", "shifted", "other")


def phase_mode_classes(
    samples: torch.Tensor, x_star: torch.Tensor, oversampling: float, floor_db: float = 15.0
) -> tuple[list[str], torch.Tensor]:
    """Classes of samples (B, C, H, W) against x*: one ((C, H, W) or (1, C, H, W)) or one per sample
    ((B, C, H, W)); images in [-1, 1]. Sample i is compared with its own x* only.

    Returns:
        (classes, best_psnr): one name of MODE_CLASSES per sample and its PSNR to the best-aligned x*.
    """
    x_star = (x_star[None] if x_star.ndim == samples.ndim - 1 else x_star).to(samples.dtype)
    if x_star.shape[0] not in (1, samples.shape[0]) or x_star.shape[1:] != samples.shape[1:]:
        raise ValueError(f"x_star {tuple(x_star.shape)} does not fit samples {tuple(samples.shape)}")
    x_star = x_star.expand_as(samples)
    h, w = samples.shape[-2:]
    big_h, big_w = round(oversampling * h), round(oversampling * w)

    def pad(img):
        return F.pad((img + 1.0) / 2.0, (0, big_w - w, 0, big_h - h))

    u, v = pad(samples), pad(x_star)
    bases = {"identity": v, "flipped": torch.roll(v.flip(-2, -1), (h - big_h, w - big_w), (-2, -1))}
    scores, aligned_by = [], []
    for base in bases.values():
        corr = torch.fft.ifft2(torch.fft.fft2(u) * torch.fft.fft2(base).conj()).real.sum(1)  # (B, H', W')
        best = corr.flatten(1).argmax(1)
        shifts = [(int(k) // big_w, int(k) % big_w) for k in best]
        aligned = torch.stack([torch.roll(base[i], s, (-2, -1)) for i, s in enumerate(shifts)])[..., :h, :w] * 2 - 1
        scores.append(psnr(samples, aligned))
        aligned_by.append(shifts)
    scores_t = torch.stack(scores)  # (2, B)
    winner = scores_t.argmax(0)
    names = list(bases)
    classes = []
    for i in range(samples.shape[0]):
        j = int(winner[i])
        if float(scores_t[j, i]) < floor_db:
            classes.append("other")
        elif aligned_by[j][i] != (0, 0):
            classes.append("shifted")
        else:
            classes.append(names[j])
    return classes, scores_t.max(0).values
