"""Non-finite values (nan, inf) are caught where they appear: the prior's denoiser, an amortizer, an external
operator. The check is one reduction per call (cheap next to a network pass); only on failure are the
offending samples of the batch found and named."""

from __future__ import annotations

import torch

__all__ = ["NonFiniteError", "check_finite", "DIVERGED_ABOVE"]

#: a sample beyond this magnitude did not come from an image prior in [-1, 1]: the sampler diverged (settings far
#: outside their range return finite noise of huge magnitude, which PNGs clip without a word)
DIVERGED_ABOVE = 10.0


class NonFiniteError(RuntimeError):
    """A component returned nan or inf; the message names the component (and, from the sampler loop, the step)."""


def check_finite(t: torch.Tensor, what: str, given: torch.Tensor | None = None) -> torch.Tensor:
    """t itself when every value is finite, else NonFiniteError naming `what` and the samples (batch rows) hit.
    `given`: what `what` was called on; when it was already non-finite, the message blames the diverged
    iterate (the settings or sigma_y), not the network."""
    if bool(torch.isfinite(t).all()):
        return t
    if given is not None and not bool(torch.isfinite(given).all()):
        raise NonFiniteError(
            f"the iterate given to {what} became non-finite (nan/inf) for sample(s) {_rows(given)} of "
            f"{given.shape[0]}: the sampler diverged (a step size or temperature too large, sigma_y too small?)"
        )
    raise NonFiniteError(f"{what} returned non-finite values (nan/inf) for sample(s) {_rows(t)} of {t.shape[0]}")


def _rows(t: torch.Tensor) -> str:
    bad = (~torch.isfinite(t.detach())).reshape(t.shape[0], -1).any(1).nonzero().flatten().tolist()
    return ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else "")
