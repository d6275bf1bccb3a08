"""Non-finite values (nan, inf) are caught where they appear: the prior's denoiser, an amortizer, an external
operator. The check is one reduction per call (cheap next to a network pass); only on failure are the
offending samples of the batch found and named."""

from __future__ import annotations

import torch

__all__ = ["NonFiniteError", "check_finite"]


class NonFiniteError(RuntimeError):
    """A component returned nan or inf; the message names the component (and, from the sampler loop, the step)."""


def check_finite(t: torch.Tensor, what: str) -> torch.Tensor:
    """t itself when every value is finite, else NonFiniteError naming `what` and the samples (batch rows) hit."""
    if bool(torch.isfinite(t).all()):
        return t
    bad = (~torch.isfinite(t.detach())).reshape(t.shape[0], -1).any(1).nonzero().flatten().tolist()
    shown = ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else "")
    raise NonFiniteError(f"{what} returned non-finite values (nan/inf) for sample(s) {shown} of {t.shape[0]}")
